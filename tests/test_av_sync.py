"""Sound and picture stay in step through an upscale, measured on real encoded files: audio that
starts before the video (into AVI, which keeps no stream's start), late AAC in .mp4 (the
encoder's priming), and variable-rate .mkv into the one tick rate of AVI."""

import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from clips import audio_seconds, jpeg, make_av_clip, make_clip, pattern, with_cover_first
from conftest import video_end

from vsrgan import upscale
from vsrgan.io.video import read_frames


def make_early_audio_clip(path, audio_codec: str, *, video_start: float, tone_at: float, seconds: float = 1.5, fps: int = 25,
                          rate: int = 48000) -> None:
    """A 32x32 libx264 clip whose stereo ``audio_codec`` audio starts at 0 s and its video at
    ``video_start`` s (a frame boundary): silence, then a 440 Hz tone from ``tone_at`` s to the end."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 32, 32, "yuv420p"
        a = c.add_stream(audio_codec, rate=rate)
        a.layout = "stereo"
        a.format = fmt = av.Codec(audio_codec, "w").audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout="stereo", rate=rate)
        total, done = int(seconds * rate), 0
        for i in [*range(round(video_start * fps), int(seconds * fps)), None]:
            while done < (total if i is None else min(total, i * rate // fps)):  # the audio up to this frame, interleaved
                t = np.arange(done, min(done + 1024, total))
                tone = np.where(t >= tone_at * rate, 0.3 * np.sin(2 * math.pi * 440 * t / rate), 0).astype(np.float32)
                af = av.AudioFrame.from_ndarray(np.repeat(tone[None], 2, 0), format="fltp", layout="stereo")
                af.sample_rate, af.pts = rate, done
                for converted in resampler.resample(af):
                    c.mux(a.encode(converted))
                done += len(t)
            if i is not None:
                frame = av.VideoFrame.from_ndarray(pattern(32, 32, i), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                c.mux(v.encode(frame))
        for converted in resampler.resample(None):
            c.mux(a.encode(converted))
        c.mux(v.encode(None))
        c.mux(a.encode(None))


def first_picture(path) -> float:
    """Where the first video frame is (s): in AVI, its place in the index (the packet's dts), as AVI plays it."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return float(min(p.dts if c.format.name == "avi" else p.pts for p in c.demux(stream) if p.size) * stream.time_base)


def decoded_audio(path) -> tuple[float, np.ndarray, int]:
    """The first audio stream as decoded: where its first frame is (s), its first channel, its rate."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    samples = np.concatenate([f.to_ndarray()[0, ::1 if f.format.is_planar else len(f.layout.channels)] for f in frames]).astype(float)
    return float(frames[0].pts * frames[0].time_base), samples, frames[0].sample_rate


def tone_start(path) -> float:
    """Where the tone starts (s, the file's clock): the first sample above half its peak."""
    start, samples, rate = decoded_audio(path)
    return start + int(np.argmax(np.abs(samples) > np.abs(samples).max() / 2)) / rate


@pytest.mark.parametrize("audio,suffix", [("aac", ".mkv"), ("pcm_s16le", ".mp4"), ("libmp3lame", ".mkv")])
def test_audio_that_starts_before_the_video_stays_in_sync_in_avi(tmp_path, caplog, audio, suffix):
    """AVI plays every stream from its first packet, so audio starting 0.48 s before the video, copied,
    played 0.48 s late: the tone, 0.52 s after the first picture in the source, came 1.02 s after it.
    Now re-encoded (in its own codec) without the 0.48 s before the first picture."""
    src, out = tmp_path / f"early{suffix}", tmp_path / "out.avi"
    make_early_audio_clip(src, audio, video_start=0.48, tone_at=1.0)
    assert tone_start(src) - first_picture(src) == pytest.approx(0.52, abs=0.01)
    upscale(src, out, model="bicubic", scale=2, preset="ultrafast", crf=35, progress=False)
    with av.open(str(out)) as c:
        ctx = c.streams.audio[0].codec_context
        frame_size = ctx.frame_size or 1
    assert tone_start(out) - first_picture(out) == pytest.approx(0.52, abs=0.03)  # and the encoder's priming, which AVI cannot mark
    # the rest of the sound, all of it (and an AAC or MP3 encoder's priming and last frame's padding, which AVI cannot mark)
    assert audio_seconds(out) == pytest.approx(1.5 - 0.48, abs=3 * frame_size / 48000)
    with av.open(str(src)) as c:
        assert ctx.name == c.streams.audio[0].codec_context.name
    assert "starts 0.48 s before the video, which '.avi' cannot record; re-encoding it as" in caplog.text


@pytest.mark.parametrize("rate,durations,frames", [(25, [33, 34, 33], 60), (24, [42, 41, 42] * 8 + [17, 16, 17] * 20, 144)])
def test_a_variable_rate_mkv_upscaled_into_avi_keeps_every_frame_at_its_time(tmp_path, rate, durations, frames):
    """AVI counts ticks of one rate. It ticked at an .mkv's header rate, which is nominal (its track's
    default duration): 30 fps stepping at a nominal 25 played 2.01 s as 2.4 s, and 24 fps with a
    60 fps stretch 3.6 s as 6 s, every frame after the first crowded onto a later tick, for good.
    Now at the rate the frames step at where they are closest (counted from the packets)."""
    src, dst = tmp_path / "vfr.mkv", tmp_path / "out.avi"
    pts = make_clip(src, width=16, height=16, frames=frames, rate=Fraction(rate), time_base=Fraction(1, 1000),
                    durations=durations)
    upscale(src, dst, model="bicubic", scale=2, preset="ultrafast", progress=False)
    with av.open(str(dst)) as c:  # AVI keeps each frame's place in its index (the packet's dts)
        stream = c.streams.video[0]
        places = [float(p.dts * stream.time_base) for p in c.demux(stream) if p.size]
        tick = float(stream.time_base)
    assert places == pytest.approx([p / 1000 for p in pts], abs=tick / 2 + 1e-3)
    assert video_end(dst) == pytest.approx(video_end(src), abs=1 / rate)



def test_a_stray_short_step_does_not_set_the_avi_rate(tmp_path):
    """One 1 ms step among 40 ms ones (a muxer's glitch) would make AVI tick at 1000 fps, an empty
    frame per millisecond: the step rate looks past the shortest 1 % of steps, so it stays 25 fps."""
    src, dst = tmp_path / "glitch.mkv", tmp_path / "out.avi"
    make_clip(src, width=16, height=16, frames=120, time_base=Fraction(1, 1000), durations=[40] * 59 + [1, 79])
    upscale(src, dst, model="bicubic", scale=2, preset="ultrafast", progress=False)
    with av.open(str(dst)) as c:
        assert c.streams.video[0].time_base == Fraction(1, 25)
    assert video_end(dst) == pytest.approx(video_end(src), abs=1 / 25)


@pytest.mark.parametrize("audio", ["aac", "pcm_s16le"])
def test_late_aac_in_mp4_starts_early_by_its_priming_only(tmp_path, audio):
    """Late audio into .mp4, AAC copied (or PCM encoded as AAC), reads back starting 1024 samples
    (21 ms at 48 kHz) before the source's: stream.start_time, the first packet and the first decoded
    frame all say 0.479 s for a source whose audio starts at 0.5 s. That is the encoder's priming:
    Matroska marks it to skip (CodecDelay), FFmpeg's mp4 muxer, for a track that starts late, keeps
    it after the empty edit, and decoders play it (copied: near-silence). The sound itself stays in
    place (0.3 ms copied, 0.9 ms re-encoded), so there is no offset to fix; a shift would make the sound 21 ms late."""
    src, out = tmp_path / "late.mkv", tmp_path / "out.mp4"
    make_av_clip(src, audio, rate=48000, layout="stereo", video_codec="libx264", seconds=1.5, fps=25, audio_start=0.5)
    assert decoded_audio(src)[0] == pytest.approx(0.5, abs=1e-3)  # the source's priming, if any, is skipped
    upscale(src, out, model="bicubic", scale=2, preset="ultrafast", crf=35, progress=False)
    priming = 1024 / 48000
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        first_packet = next(p for p in c.demux(stream) if p.size)
        assert stream.codec_context.name == "aac"
        assert float(stream.start_time * stream.time_base) == pytest.approx(0.5 - priming, abs=1.5e-3)
        assert float(first_packet.pts * first_packet.time_base) == pytest.approx(0.5 - priming, abs=1.5e-3)
    start, samples, rate = decoded_audio(out)
    assert start == pytest.approx(0.5 - priming, abs=1.5e-3)  # decoded too: no edit skips it
    assert tone_start(out) - first_picture(out) == pytest.approx(tone_start(src) - first_picture(src), abs=2e-3)
    if audio == "aac":  # copied: the source encoder's priming, near-silence (re-encoded, the tone's pre-echo reaches into it)
        assert np.abs(samples[: int(priming * rate) - 24]).max() < 0.01  # -40 dBFS


def test_the_pipes_decoder_reads_the_video_not_a_cover_listed_first(tmp_path):
    """The bench's stand-in for an ffmpeg decoder took ``streams.video[0]``: where an .mp4's cover is
    listed first, it wrote one 32x32 picture (3072 bytes) instead of 9 frames of 48x32. It takes
    the stream every other reader takes now (video_stream), frame for frame what read_frames reads."""
    plain, covered = tmp_path / "plain.mp4", tmp_path / "covered.mp4"
    make_clip(plain, width=48, height=32, frames=9)
    with_cover_first(plain, covered, jpeg(128))
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "vsrgan.benchmark.pipes", "decode", str(covered)], capture_output=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=120, check=True)
    assert done.stdout == b"".join(frame.image.tobytes() for frame in read_frames(covered))
    assert len(done.stdout) == 9 * 48 * 32 * 3


NTSC_MS = [round((i + 1) * 1001 / 30) - round(i * 1001 / 30) for i in range(30)]  # 29.97 fps in millisecond stamps: 33 and 34 ms


@pytest.mark.parametrize("suffix,time_base,rate,durations", [(".mkv", Fraction(1, 1000), Fraction(25), None), (".mp4", None, Fraction(25), None),
                                                            (".mkv", Fraction(1, 1000), Fraction(30000, 1001), NTSC_MS),
                                                            (".mkv", Fraction(1, 1000), Fraction(15), None)])
def test_mpeg2_output_ticks_at_the_videos_rate(tmp_path, suffix, time_base, rate, durations):
    """MPEG-2 stores one frame rate from a short table (scaled by small ratios: 15 fps too) and its
    encoder refuses anything else: handed an .mkv's 1 ms time base or an .mp4's 1/12800, every
    upscale to MPEG-2 failed. A 29.97 fps clip's rate counted from millisecond stamps is 30000/1001."""
    src, dst = tmp_path / f"in{suffix}", tmp_path / "out.mpg"
    make_clip(src, width=16, height=16, frames=15, rate=rate, time_base=time_base, durations=durations)
    upscale(src, dst, model="bicubic", scale=2, codec="mpeg2video", progress=False)
    def times(path):
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            return stream, [float(f.time) for f in c.decode(stream)]

    stream, out = times(dst)
    assert stream.codec_context.name == "mpeg2video" and stream.average_rate == rate and len(out) == 15
    source = times(src)[1]
    assert [t - out[0] for t in out] == pytest.approx([t - source[0] for t in source], abs=0.005)  # millisecond stamps: 15 fps steps 67 ms


def test_a_rate_mpeg1_cannot_store_is_one_line_and_no_file(tmp_path):
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mpg"
    make_clip(src, width=16, height=16, frames=6, rate=Fraction(15), time_base=Fraction(1, 1000))
    run = subprocess.run([sys.executable, "-m", "vsrgan", "upscale", str(src), "-o", str(dst), "-m", "bicubic", "-s", "2", "--codec", "mpeg1video", "-q"],
                         capture_output=True, text=True)
    assert run.returncode != 0 and not dst.exists() and not list(tmp_path.glob("*.tmp*"))
    assert "'" + str(dst) + "'" in run.stderr.strip().splitlines()[-1] and "mpeg1video" in run.stderr.strip().splitlines()[-1], run.stderr


def test_a_raw_h264_stream_says_it_loses_the_rate(tmp_path, caplog):
    """A raw .h264 keeps no timestamps: a 30 fps video reads back at 25 fps, so the job says so."""
    src = tmp_path / "in.mkv"
    make_clip(src, width=16, height=16, frames=6, rate=Fraction(30))
    upscale(src, tmp_path / "out.h264", model="bicubic", scale=2, progress=False)
    assert "out.h264': a raw .h264 stream keeps no timestamps, and players read it at 25 fps: this video is 30 fps" in caplog.text
    caplog.clear()
    upscale(src, tmp_path / "out.mkv", model="bicubic", scale=2, progress=False)
    assert "timestamps" not in caplog.text
