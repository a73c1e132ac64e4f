"""FFmpeg's log collected while a block runs (vsrgan.io.ffmpeglog): readers and the encoder open
blocks out of order and on several threads; each keeps its own messages, and PyAV's process-wide
level comes back to what it was. And a reader abandoned mid-stream with the log on never hangs."""

import random
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import pytest
from clips import make_clip

from vsrgan.io.damage import decode_surviving, watch
from vsrgan.io.encoding import ffmpeg_errors

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def log_off():
    av.logging.set_level(None)
    yield
    av.logging.set_level(None)


def make_damaged(path: Path, *, frames: int = 60, width: int = 320, height: int = 240) -> Path:
    """An H.264 .mkv whose every packet is hurt in its last third: the container intact, every frame
    decoded with errors the decoder conceals (and logs, from its worker threads)."""
    clean = path.with_name("clean" + path.suffix)
    make_clip(clean, frames=frames, width=width, height=height, gop=frames)
    rnd = random.Random(0)
    with av.open(str(clean)) as c, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(c.streams.video[0])
        for packet in c.demux(video=0):
            if packet.size:
                data = bytearray(bytes(packet))
                for i in range(len(data) * 2 // 3, len(data), 7):
                    data[i] = rnd.randrange(256)
                hurt = av.Packet(bytes(data))
                hurt.pts, hurt.dts, hurt.time_base, hurt.stream = packet.pts, packet.dts, packet.time_base, stream
                hurt.is_keyframe = packet.is_keyframe
                out.mux(hurt)
    return path


def decode(path: Path, damage, frames: int) -> None:
    """Decode ``frames`` frames of ``path`` as read_frames does (frame threads), its errors to ``damage``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, _ in enumerate(decode_surviving(container, stream, damage)):
            if index + 1 >= frames:
                break
        stream.codec_context.flush_buffers()  # the worker threads' messages are all in


def concealed(messages: list[str]) -> int:
    """How many of ``messages`` say the H.264 decoder concealed a damaged stretch of a frame."""
    return sum("error while decoding MB" in m for m in messages)


def test_two_readers_ended_out_of_order_keep_the_log_on_for_the_other_then_restore_it(tmp_path):
    """Two readers (two read_frames generators, or one closed later by the garbage collector): the
    first one opened ends first. The other still decodes, with its errors counted; at the end the
    log is off again, as it was (it was left on for good, and the second reader counted nothing)."""
    src = make_damaged(tmp_path / "damaged.mkv")
    first, second = watch(Path("first.mkv")), watch(Path("second.mkv"))
    first.__enter__()
    damage = second.__enter__()
    first.__exit__(None, None, None)
    assert av.logging.get_level() == av.logging.ERROR  # still collecting for the second
    decode(src, damage, 30)
    second.__exit__(None, None, None)
    assert av.logging.get_level() is None
    assert concealed(damage.messages) >= 10, damage.messages


def test_a_reader_and_the_encoder_on_two_threads_each_keep_their_own_messages(tmp_path):
    """The reader's thread decodes a damaged clip while the encoder's block opens an encoder that
    refuses its preset on another thread, and ends first: the encoder's block holds the encoder's
    refusal and nothing of the decoder's; the reader's, the decoder's errors, before, during and
    after the encoder's block (it lost those to the encoder's block before)."""
    src = make_damaged(tmp_path / "damaged.mkv")
    in_watch, in_errors, decoded, errors_done = (threading.Event() for _ in range(4))
    seen = {}

    def reader():
        with watch(src) as damage:
            decode(src, damage, 10)
            in_watch.set()
            in_errors.wait(60)
            decode(src, damage, 20)  # while the encoder's block is open
            decoded.set()
            errors_done.wait(60)
            seen["level after the encoder's block"] = av.logging.get_level()
            decode(src, damage, 10)
        seen["damage"] = damage

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert in_watch.wait(60)
        with ffmpeg_errors() as messages:
            in_errors.set()
            assert decoded.wait(60)
            encoder = av.CodecContext.create("libx264", "w")
            encoder.width, encoder.height, encoder.pix_fmt, encoder.time_base = 64, 64, "yuv420p", Fraction(1, 25)
            encoder.options = {"preset": "no-such-preset"}
            with pytest.raises(av.FFmpegError):
                encoder.open()
    finally:
        in_errors.set()
        errors_done.set()
        thread.join(120)
    assert messages and all("preset" in m for m in messages), messages
    decoder = seen["damage"].messages
    assert concealed(decoder) >= 10 and not any("preset" in m for m in decoder), decoder
    assert seen["level after the encoder's block"] == av.logging.ERROR
    assert av.logging.get_level() is None


def test_the_level_found_is_restored_after_an_exception(tmp_path):
    """A block that ends in an error (a refused encoder inside a reader's block) still hands over its
    messages and leaves the level as it found it: None (PyAV's default), or a level the caller set."""
    src = make_damaged(tmp_path / "damaged.mkv", frames=12)
    for found in (None, av.logging.WARNING):
        av.logging.set_level(found)
        with pytest.raises(RuntimeError), watch(src) as damage:
            decode(src, damage, 12)
            with pytest.raises(RuntimeError), ffmpeg_errors() as messages:
                av.logging.log(av.logging.ERROR, "test", "refused\n")
                raise RuntimeError("refused")
            assert av.logging.get_level() == (found or av.logging.ERROR)
            raise RuntimeError("stopped")
        assert av.logging.get_level() == found
        assert messages == ["refused"] and damage.messages and "refused" not in damage.messages


ABANDON = """
import sys
import av.logging
from vsrgan.io.encoding import ffmpeg_errors
from vsrgan.io.video import read_frames

with ffmpeg_errors():  # the log on while readers are abandoned: another block open, as on another thread
    for run in range({runs}):
        frames = read_frames(sys.argv[1], threads=8)
        for index, _ in enumerate(frames):
            if index >= run % 20:
                break
        frames.close()  # compare --seconds, an error or a signal: the decoder freed mid-stream
print("done")
"""


def test_readers_abandoned_mid_stream_with_the_log_on_never_hang(tmp_path):
    """Freeing a frame-threaded decoder while its threads log (damaged input) deadlocked on the GIL
    when FFmpeg's log went to Python (PyAV #751, #1849): read_frames stops its decoder first. In a
    child process, bounded by a timeout: a hang fails the test instead of stalling the suite."""
    src = make_damaged(tmp_path / "damaged.mkv", frames=200)
    code = textwrap.dedent(ABANDON.format(runs=300))
    try:  # -c from the repository root: this tree's vsrgan
        result = subprocess.run([sys.executable, "-c", code, str(src)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("readers abandoned mid-stream with the log on hung (a decoder freed while its threads wait for the GIL)")
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr
