"""Watch: ingest every complete file that lands in `DIR/incoming`, then file it under done or failed.

A file is complete once nothing has written to it for one interval: its size and modification time
are unchanged since the previous look, or it was last modified an interval ago or more (a file
written elsewhere and renamed in). Files still being written are left for a later look, as are
dotfiles and `*.part` / `*.tmp` files, which copy tools write before renaming.

Files are ingested one at a time in arrival order (modification time, then name). A file that fails
moves to `DIR/failed` with `<name>.why.txt` beside it; nothing a file holds stops the watcher.
SIGTERM and SIGINT stop it between two files.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.build import BuildError
from pipelines.ingest import ingest

IGNORED_SUFFIXES = (".part", ".tmp")

Log = Callable[[str], None]


class WatchError(Exception):
    """The watcher cannot start: the folder or the database is missing."""


def log_on_stderr(message: str) -> None:
    print(
        f"{dt.datetime.now().isoformat(sep=' ', timespec='seconds')} {message}", file=sys.stderr, flush=True
    )


def _ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.suffix.lower() in IGNORED_SUFFIXES or not path.is_file()


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/<stem>~2<suffix>` … when a file of that name is already there."""
    target = folder / name
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    number = 1
    while target.exists() or target.with_name(target.name + ".why.txt").exists():
        number += 1
        target = folder / f"{stem}~{number}{dot}{suffix}"
    return target


class Watcher:
    """Looks at `DIR/incoming` every `interval` seconds and ingests what is complete."""

    def __init__(self, folder: Path, db_path: Path, interval: float = 2.0, log: Log = log_on_stderr) -> None:
        self.folder, self.db_path, self.interval, self.log = Path(folder), Path(db_path), interval, log
        self.incoming, self.done, self.failed = (self.folder / n for n in ("incoming", "done", "failed"))
        self.stop = threading.Event()
        # name -> (size, mtime) of every file at the previous look
        self._seen: dict[str, tuple[int, int]] = {}
        # files that could not be moved out of incoming: not taken again while they stay
        self._stuck: set[tuple[str, int, int]] = set()

    def check(self) -> None:
        if not self.folder.is_dir():
            raise WatchError(f"{self.folder}: 目录不存在")
        if not self.db_path.is_file():
            raise WatchError(f"{self.db_path}: 数据库不存在，请先运行 build")
        for sub in (self.incoming, self.done, self.failed):
            sub.mkdir(exist_ok=True)

    def complete_files(self) -> list[Path]:
        """Files of incoming that nothing has written to for an interval, in arrival order."""
        now = time.time()
        ready: list[tuple[int, str, Path]] = []
        seen: dict[str, tuple[int, int]] = {}
        for path in self.incoming.iterdir():
            try:
                if _ignored(path):
                    continue
                stat = path.stat()
            except FileNotFoundError:
                continue  # moved away between listing and looking
            signature = (stat.st_size, stat.st_mtime_ns)
            if (path.name, *signature) in self._stuck:
                continue
            if self._seen.get(path.name) == signature or stat.st_mtime <= now - self.interval:
                ready.append((stat.st_mtime_ns, path.name, path))
            seen[path.name] = signature
        self._seen = seen
        return [path for _, _, path in sorted(ready)]

    def take(self, path: Path) -> bool:
        """Ingest one file and move it to done or failed; True when it was ingested."""
        try:
            return self._take(path)
        except OSError as exc:  # incoming, done or failed cannot be written: leave the file, go on
            stat = path.stat() if path.exists() else None
            if stat is not None:
                self._stuck.add((path.name, stat.st_size, stat.st_mtime_ns))
            self.log(f"无法移动 {path.name}：{exc.strerror or exc}（留在 {self.incoming.name}/，不再重试）")
            return False

    def _take(self, path: Path) -> bool:
        started = time.perf_counter()
        try:
            result = ingest(path, self.db_path, warn=self.log)
        except BuildError as exc:
            why = str(exc)
        except Exception as exc:  # noqa: BLE001 -- a file must never stop the watcher
            why = f"意外错误：{type(exc).__name__}: {exc}"
        else:
            os.replace(path, _free_name(self.done, path.name))
            audit = result.audit[0]
            self.log(
                f"已导入 {path.name}：读取 {audit.rows_read} 行，导入 {audit.rows_loaded} 行"
                f"（新增 {result.added}，更新 {result.replaced}），拒绝 {audit.rows_rejected} 行，"
                f"被取代 {audit.rows_superseded} 行，{time.perf_counter() - started:.1f} 秒"
            )
            return True
        target = _free_name(self.failed, path.name)
        target.with_name(target.name + ".why.txt").write_text(why + "\n", encoding="utf-8")
        os.replace(path, target)
        self.log(f"失败 {path.name}：{why.splitlines()[0] if why else ''}（已移到 {self.failed.name}/）")
        return False

    def run(self) -> None:
        """Look, ingest, wait; until `stop` is set. A file being ingested is finished first."""
        self.check()
        self.log(f"监视 {self.incoming}，每 {self.interval:g} 秒查看一次；发布到 {self.db_path}")
        while not self.stop.is_set():
            for path in self.complete_files():
                if self.stop.is_set():
                    break
                self.take(path)
            self.stop.wait(self.interval)
        self.log("已停止")


def watch_until_signalled(
    folder: Path, db_path: Path, interval: float = 2.0, log: Log = log_on_stderr
) -> None:
    """Run a watcher in this process until SIGTERM or SIGINT."""
    watcher = Watcher(folder, db_path, interval, log)
    watcher.check()

    def stop(signum: int, frame: object) -> None:
        watcher.stop.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        watcher.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
