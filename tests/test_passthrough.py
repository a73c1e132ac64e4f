"""Audio carried into the upscaled file: copied where the container takes it, otherwise converted
(sample format, layout, rate) to what the container's encoder takes and re-encoded."""

import av
import pytest
from conftest import audio_seconds, make_av_clip

from vsrgan import upscale


def upscaled_audio(src, out):
    upscale(src, out, model="bicubic", scale=2, preset="ultrafast", crf=35, progress=False,
            codec="libvpx-vp9" if out.suffix == ".webm" else "libx264")
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1, f"{out.name} lost its audio"
        ctx = c.streams.audio[0].codec_context
        return ctx.name, ctx.sample_rate, ctx.layout.nb_channels, ctx.frame_size or 1152, audio_seconds(out)


@pytest.mark.parametrize(
    "source,audio,rate,layout,video,output,expected",
    [
        ("clip.avi", "pcm_u8", 11025, "mono", "mjpeg", "out.mp4", ("aac", 11025, 1)),  # the AVI
        ("clip.mov", "pcm_s16le", 44100, "stereo", "libx264", "out.mp4", (None, 44100, 2)),
        ("clip.mkv", "pcm_s24le", 48000, "5.1", "libx264", "out.mp4", ("aac", 48000, 6)),
        ("clip.mkv", "mp2", 22050, "stereo", "libx264", "out.webm", ("opus", 48000, 2)),  # Opus has no 22050 Hz (and decodes at 48 kHz)
        ("clip.avi", "pcm_s16le", 22050, "stereo", "mjpeg", "out.webm", ("opus", 48000, 2)),
    ],
)
def test_audio_converted_to_what_the_encoder_takes(tmp_path, source, audio, rate, layout, video, output, expected):
    seconds = make_av_clip(tmp_path / source, audio, rate=rate, layout=layout, video_codec=video)
    codec, out_rate, channels, frame_size, out_seconds = upscaled_audio(tmp_path / source, tmp_path / output)
    assert (codec if expected[0] else None, out_rate, channels) == expected
    assert abs(out_seconds - seconds) <= frame_size / out_rate  # within one audio frame


def encodable_audio():
    """(codec, container, rate, layout) for every audio encoder in PyAV's FFmpeg that some container takes."""
    found = []
    for name in sorted(av.codecs_available):
        try:
            codec = av.Codec(name, "w")
        except (av.FFmpegError, ValueError):
            continue
        if codec.type == "audio" and name not in ("anull", "mp3", "opus", "ac3_fixed", "mp2fixed"):  # aliases and a null
            found.append(name)
    return found


def test_every_generated_audio_codec_keeps_its_audio(tmp_path):
    """Each audio encoder PyAV ships, in the first container and settings that take it, upscaled to .mp4."""
    kept, skipped = [], []
    for name in encodable_audio():
        src = None
        for suffix in (".mkv", ".mov", ".avi", ".nut"):
            for rate, layout in ((44100, "stereo"), (8000, "mono"), (16000, "mono")):
                try:
                    seconds = make_av_clip(tmp_path / f"{name}{suffix}", name, rate=rate, layout=layout, seconds=0.5)
                    src = tmp_path / f"{name}{suffix}"
                    break
                except (av.FFmpegError, ValueError, IndexError):
                    (tmp_path / f"{name}{suffix}").unlink(missing_ok=True)
            if src:
                break
        if src is None:  # needs a raw or exotic container: nothing to upscale
            skipped.append(name)
            continue
        _, out_rate, _, frame_size, out_seconds = upscaled_audio(src, tmp_path / f"{name}.mp4")
        assert abs(out_seconds - seconds) <= max(frame_size / out_rate, 0.06), name  # AVI stores no encoder delay
        kept.append(name)
    assert {"pcm_u8", "pcm_s16le", "pcm_s24le", "mp2", "ac3", "flac", "libopus", "libmp3lame", "aac"} <= set(kept), skipped
