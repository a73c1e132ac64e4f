"""Audio carried into the upscaled file: copied where the container takes it, otherwise converted
(sample format, layout, rate) to what the container's encoder takes and re-encoded. Tags, chapters
and cover art are carried too, and every stream left out is named in a warning."""

from fractions import Fraction

import av
import numpy as np
import pytest
from clips import audio_seconds, jpeg, make_av_clip, make_clip, with_cover_first

from vsrgan import upscale
from vsrgan.io.video import probe, read_frames


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


@pytest.mark.parametrize(
    "audio,rate,output",
    [("aac", 48000, "out.ts"), ("ac3", 48000, "out.ts"), ("libopus", 48000, "out.ts"), ("mp2", 48000, "out.mpg"),
     ("ac3", 48000, "out.mpg"), ("libmp3lame", 44100, "out.mpg"), ("pcm_s16le", 48000, "out.ts")],
)
def test_mpeg_ts_and_ps_copy_the_audio_they_carry(tmp_path, caplog, audio, rate, output):
    """MPEG-TS and MPEG-PS keep no codec list (FFmpeg names only MP2), so AAC into .ts and AC-3 into
    .mpg were re-encoded as MP2. Copied now where the file, read back, shows the codec again; PCM,
    which a .ts takes only as private data nothing decodes, is still re-encoded."""
    src = tmp_path / "clip.mkv"
    seconds = make_av_clip(src, audio, rate=rate, layout="stereo", video_codec="libx264")
    with av.open(str(src)) as c:
        codec = c.streams.audio[0].codec.canonical_name
    out_codec, out_rate, channels, frame_size, out_seconds = upscaled_audio(src, tmp_path / output)
    if audio == "pcm_s16le":
        assert out_codec == "mp2" and "re-encoding it as mp2" in caplog.text
    else:
        assert out_codec in (codec, f"{codec}float") and "re-encoding" not in caplog.text
    assert (out_rate, channels) == (rate, 2)
    assert abs(out_seconds - seconds) <= 2 * frame_size / out_rate  # all of it; MPEG-TS/PS cannot mark the encoder's priming to skip


def tone_start(path) -> float:
    """Where the tone starts (s), counted from the first video frame (in AVI, its place in the index: the
    packet's dts): the first audio sample above half its peak."""
    with av.open(str(path)) as c:
        video = min(p.dts if c.format.name == "avi" else p.pts for p in c.demux(video=0) if p.size) * c.streams.video[0].time_base
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    samples = np.abs(np.concatenate([f.to_ndarray()[0, ::1 if f.format.is_planar else len(f.layout.channels)] for f in frames]).astype(float))
    first = int(np.argmax(samples > samples.max() / 2))
    return float(frames[0].pts * frames[0].time_base) + first / frames[0].sample_rate - float(video)


@pytest.mark.parametrize("audio,audio_start", [("aac", 0.5), ("pcm_s16le", 0.5), ("libmp3lame", 0.5), ("aac", 0.0)])
def test_audio_that_starts_late_stays_in_sync_in_avi(tmp_path, caplog, audio, audio_start):
    """AVI keeps no stream's start, so audio starting 0.5 s after the video, copied, played from 0 s:
    0.5 s early. Now re-encoded with 0.5 s of silence in front, in its own codec where FFmpeg encodes
    it (PCM stays PCM); audio on time is still copied."""
    src, out = tmp_path / "late.mkv", tmp_path / "out.avi"
    make_av_clip(src, audio, rate=48000, layout="stereo", video_codec="libx264", seconds=1.5, fps=25, audio_start=audio_start)
    assert tone_start(src) == pytest.approx(audio_start, abs=0.01)
    codec, _, _, frame_size, seconds = upscaled_audio(src, out)
    assert tone_start(out) == pytest.approx(audio_start, abs=0.05)  # and the encoder's priming, which AVI cannot mark
    assert seconds == pytest.approx(1.5, abs=2 * frame_size / 48000)
    with av.open(str(src)) as c:
        assert codec == c.streams.audio[0].codec_context.name
    late = f"starts {audio_start:.2f} s after the video, which '.avi' cannot record; re-encoding it as"
    assert (late in caplog.text) == bool(audio_start) and ("re-encoding" in caplog.text) == bool(audio_start)


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


def tag_streams(path, tagged):
    """Remux ``path`` into ``tagged`` with languages, titles, dispositions, a file title and (in .mkv) chapters."""
    with av.open(str(path)) as src, av.open(str(tagged), "w") as out:
        routes = {s.index: out.add_stream_from_template(s) for s in src.streams}
        video, audio = routes[src.streams.video[0].index], routes[src.streams.audio[0].index]
        video.metadata.update(language="fra", title="Picture")
        audio.metadata.update(language="jpn", title="Commentary")
        audio.disposition = av.stream.Disposition.default | av.stream.Disposition.comment
        for s in src.streams.subtitles:
            routes[s.index].metadata.update(language="eng", title="English SDH")
            routes[s.index].disposition = av.stream.Disposition.forced
        out.metadata["title"] = "My Movie"
        if tagged.suffix == ".mkv":
            out.set_chapters([{"id": 1, "start": 0, "end": 500, "time_base": Fraction(1, 1000), "metadata": {"title": "Intro"}}])
        for packet in src.demux():
            if packet.size:
                packet.stream = routes[packet.stream.index]
                out.mux(packet)


def tags(path):
    with av.open(str(path)) as c:
        streams = {s.type: (s.metadata.get("language"), s.metadata.get("title", s.metadata.get("name")), s.disposition)
                   for s in c.streams if s.type in ("video", "audio", "subtitle")}
        return c.metadata.get("title"), [ch["metadata"].get("title") for ch in c.chapters()], streams


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_languages_titles_dispositions_and_chapters_survive(tmp_path, suffix):
    src, tagged, out = tmp_path / f"src{suffix}", tmp_path / f"tagged{suffix}", tmp_path / f"out{suffix}"
    make_clip(src, frames=12, audio=True, subtitles=suffix == ".mkv")
    tag_streams(src, tagged)
    upscale(tagged, out, model="bicubic", scale=2, preset="ultrafast", crf=35, progress=False)
    title, chapters, streams = tags(out)
    assert title == "My Movie"
    assert streams["audio"][:2] == ("jpn", "Commentary")
    assert streams["audio"][2] & av.stream.Disposition.comment
    assert streams["video"][0] == "fra"
    if suffix == ".mkv":
        assert chapters == ["Intro"]
        assert streams["video"][1] == "Picture"
        assert streams["subtitle"][:2] == ("eng", "English SDH")
        assert streams["subtitle"][2] & av.stream.Disposition.forced


def test_audio_is_left_out_with_a_warning_where_the_container_holds_none(tmp_path, caplog):
    src, out = tmp_path / "a.mp4", tmp_path / "out.y4m"
    make_clip(src, frames=6, audio=True)
    upscale(src, out, model="bicubic", scale=2, codec="rawvideo", preset=None, crf=None, progress=False)
    assert "audio stream #1 (aac) cannot go into '.y4m'; it is left out" in caplog.text
    with av.open(str(out)) as c:
        assert not c.streams.audio and sum(1 for _ in c.decode(video=0)) == 6


def test_a_clip_cut_short_keeps_only_the_chapters_it_holds(tmp_path):
    """``compare --seconds 0.3`` of a 0.48 s clip: chapter C starts after the cut and goes, B ends at it."""
    from vsrgan.evaluation.compare import compare

    src, chaptered, out = tmp_path / "src.mkv", tmp_path / "chaptered.mkv", tmp_path / "cmp.mkv"
    make_clip(src, width=64, height=48, frames=12, audio=True)  # 25 fps
    marks = [(0, 200, "A"), (200, 400, "B"), (400, 480, "C")]
    with av.open(str(src)) as i, av.open(str(chaptered), "w") as o:
        routes = {s.index: o.add_stream_from_template(s) for s in i.streams}
        o.set_chapters([{"id": n + 1, "start": a, "end": b, "time_base": Fraction(1, 1000), "metadata": {"title": t}}
                        for n, (a, b, t) in enumerate(marks)])
        for packet in i.demux():
            if packet.size:
                packet.stream = routes[packet.stream.index]
                o.mux(packet)
    compare(chaptered, out, model="bicubic", seconds=0.3, device="cpu", progress=False, preset="ultrafast")
    with av.open(str(out)) as c:
        kept = [(ch["metadata"]["title"], float(ch["start"] * ch["time_base"]), float(ch["end"] * ch["time_base"])) for ch in c.chapters()]
    assert kept == [("A", 0.0, 0.2), ("B", 0.2, 0.3)]


def remux(out, *sources, attachments=(), klv=False):
    """Every stream of ``sources`` in one file ``out``, with attached files ((name, MIME type, bytes):
    FFmpeg shows an image among them as a cover, a video stream of one picture) and, with ``klv``, a
    data stream of KLV timed metadata, as drones and broadcast .ts files carry."""
    inputs = [av.open(str(s)) for s in sources]
    with av.open(str(out), "w") as o:
        routes = {(k, s.index): o.add_stream_from_template(s) for k, c in enumerate(inputs) for s in c.streams}
        for name, mimetype, data in attachments:
            o.add_attachment(name, mimetype, data)
        data_stream = o.add_data_stream("klv") if klv else None
        o.start_encoding()
        if data_stream is not None:
            for i in range(3):
                packet = av.Packet(b"\x06\x0e\x2b\x34" + bytes(12))
                packet.stream, packet.pts, packet.dts, packet.time_base = data_stream, i * 9000, i * 9000, Fraction(1, 90000)
                o.mux(packet)
        for k, c in enumerate(inputs):
            for packet in c.demux():
                if packet.size:
                    packet.stream = routes[(k, packet.stream.index)]
                    o.mux(packet)
    for c in inputs:
        c.close()


def covers(path):
    """(file name, encoded picture) of each cover image in ``path``: a video stream with the attached_pic disposition."""
    with av.open(str(path)) as c:
        found = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
        return [(s.metadata.get("filename"), bytes(next(p for p in c.demux(s) if p.size))) for s in found]


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".mov"])
def test_cover_art_is_kept_where_the_container_holds_it_and_named_where_not(tmp_path, caplog, suffix):
    """An .mkv's cover image is a video stream to FFmpeg, which neither the audio nor the attachment
    loop saw: it vanished in silence. Into .mkv it stays an attached file, into .mp4 it becomes the
    file's cover; .mov drops cover streams, so a warning names it."""
    src, with_cover, out = tmp_path / "a.mp4", tmp_path / "cover.mkv", tmp_path / f"out{suffix}"
    make_clip(src, frames=6, audio=True)
    remux(with_cover, src, attachments=[("cover.jpg", "image/jpeg", jpeg(200)), ("font.ttf", "font/ttf", b"\0\1\0\0font")])
    assert covers(with_cover) == [("cover.jpg", jpeg(200))]
    upscale(with_cover, out, model="bicubic", scale=2, preset="ultrafast", progress=False)
    if suffix == ".mov":
        assert covers(out) == []
        assert "cover image 'cover.jpg' (stream #2, mjpeg) cannot go into '.mov'; it is left out" in caplog.text
    else:
        assert [picture for _, picture in covers(out)] == [jpeg(200)]
        assert "cover image" not in caplog.text
    assert probe(out).width == 2 * probe(src).width and sum(1 for _ in read_frames(out)) == 6  # the upscaled video is still the first


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_cover_listed_before_the_video_stays_the_cover(tmp_path, caplog, suffix):
    """An .mp4 whose cover image FFmpeg lists as stream #0: the cover was upscaled (one 64x64 picture)
    and the video left out; now the video is upscaled, its tags kept, and the cover stays a cover."""
    src, covered, out = tmp_path / "src.mp4", tmp_path / "covered.mp4", tmp_path / f"out{suffix}"
    make_clip(src, frames=6, audio=True)
    with_cover_first(src, covered, jpeg(200))
    upscale(covered, out, model="bicubic", scale=2, preset="ultrafast", progress=False)
    info = probe(out)
    assert (info.width, info.height, sum(1 for _ in read_frames(out))) == (96, 64, 6)
    assert [picture for _, picture in covers(out)] == [jpeg(200)]
    assert info.audio_codecs == ("aac",)
    assert "left out" not in caplog.text


def test_a_second_video_stream_and_a_data_stream_are_named_in_warnings(tmp_path, caplog):
    """Only the first video stream is upscaled, and data streams are not carried: each one left out is named."""
    a, b, two, klv = (tmp_path / n for n in ("a.mp4", "b.mp4", "two.mkv", "klv.ts"))
    make_clip(a, frames=6, audio=True)
    make_clip(b, width=64, height=48, frames=6)
    remux(two, a, b)
    upscale(two, tmp_path / "two_x2.mkv", model="bicubic", scale=2, preset="ultrafast", progress=False)
    assert "video stream #2 (h264, 64x48) is left out of '.mkv': only the first video stream (#0) is upscaled" in caplog.text
    remux(klv, a, klv=True)
    upscale(klv, tmp_path / "klv_x2.ts", model="bicubic", scale=2, preset="ultrafast", progress=False)
    assert "data stream #2 (klv) is left out of '.ts'" in caplog.text
    with av.open(str(tmp_path / "two_x2.mkv")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
