"""Ordinary conditions end a command with one line naming the problem, never a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from tests.ioa.commands.cli_kit import IOA, TOOL, card_file, closed_port, ioa, ioa_env, stderr_lines


def test_a_reader_that_stops_reading_gets_one_line_not_a_traceback(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes a byte: `ioa schema | head`
    try:
        done = subprocess.run(
            [*IOA, "schema"],
            env=ioa_env(tmp_path / "home"),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr
    assert stderr_lines(done.stderr) == [
        "ioa schema: the output was closed before it was all written"
    ]
    assert done.returncode == 141


def _as_in_a_terminal() -> None:
    """Ctrl-C's default action, as a shell gives it to a foreground command: a suite started
    in the background (`cmd &`) inherits SIGINT ignored, and so would the hub."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_hub_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*IOA, "hub", "--port", "0", "--db", str(tmp_path / "hub.db")],
        env=ioa_env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        assert proc.stdout is not None
        assert "IoA hub listening on" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):  # a timeout must not leak them into later tests
            if pipe is not None:
                pipe.close()
    assert "Traceback" not in err
    assert stderr_lines(err)[-1] == "ioa hub: interrupted"
    assert proc.returncode == 130


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = ioa("hub", "--port", port, "--db", tmp_path / "hub.db", home=tmp_path / "home")
    assert "Traceback" not in done.stderr
    (last,) = stderr_lines(done.stderr)[-1:]
    assert last.startswith("ioa hub: ")
    assert "address already in use" in last
    assert done.returncode == 2


def test_an_unreachable_hub_is_one_line_and_no_unclosed_session(tmp_path: Path) -> None:
    hub = f"http://127.0.0.1:{closed_port()}"
    done = ioa(
        "agent", "--card", card_file(tmp_path), "--hub", hub, "--tool", TOOL,
        "--state", tmp_path / "state", home=tmp_path / "home",
    )  # fmt: skip
    (line,) = stderr_lines(done.stderr)  # no "Unclosed client session" after it
    assert line.startswith(f"ioa agent: cannot reach the hub at {hub}: ")
    assert done.returncode == 2


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    done = ioa("agent", "--card", tmp_path / "nowhere.json", home=tmp_path / "home")
    assert stderr_lines(done.stderr) == [
        f"ioa agent: cannot read card {tmp_path / 'nowhere.json'}: No such file or directory"
    ]
    assert done.returncode == 2


def test_an_unwritable_output_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "x.gguf"
    done = ioa("models", "synth", "tiny-minicpm", "--out", out, home=tmp_path / "home")
    assert "Traceback" not in done.stderr
    (line,) = stderr_lines(done.stderr)
    assert line.startswith("ioa models: ")
    assert done.returncode == 2


def test_a_bad_hub_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args, named in (
        (("--port", "70000"), "bad port '70000'"),
        (("--broker", "http://not-redis"), "bad broker_url 'http://not-redis'"),
        (("--broker", "redis://127.0.0.1:1/0"), "hubs that share a store need PostgreSQL"),
    ):
        done = ioa("hub", *args, "--db", tmp_path / "hub.db", home=home)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        [line] = stderr_lines(done.stderr)
        assert line.startswith("ioa hub: "), line
        assert named in line, line
    assert not (tmp_path / "hub.db").exists() or (tmp_path / "hub.db").stat().st_size == 0
