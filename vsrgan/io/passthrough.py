"""Audio and subtitle streams carried from a source file into an output as its video advances.

Packets are copied as they are where the output container takes their codec (a trial file in
memory, given the stream's first packets, says so; into .ts and .mpg, whose muxers keep no codec
list, it is read back: AAC goes into MPEG-TS, MP2 and AC-3 into MPEG-PS as they are); other
audio is decoded, converted with ``av.AudioResampler`` to a sample format, channel layout and rate
the container's default audio encoder opens with (8-bit mono PCM at 11025 Hz becomes float mono AAC in .mp4; 22050 Hz becomes
24 kHz Opus in .webm, which has no 22050), and re-encoded. A subtitle stream the container cannot hold,
or an audio stream where the container holds no audio at all (.gif, .y4m), is named in a
warning, never dropped in silence. Tags (language, title), disposition flags (default, forced),
the container's tags, chapters, (into .mkv) attachments and (into .mkv and .mp4) cover images are
carried too; every other stream (a second video stream, a data stream) is named in a warning as
well. Packets are muxed in step with the video (everything that
starts before the frame being written), so the muxer interleaves without buffering the file.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction
from pathlib import Path

try:
    import av
except ImportError:  # see vsrgan.io.video: only video I/O needs PyAV
    av = None

from ..errors import VideoError
from .audiocodecs import copyable, encoder_settings, encodes
from .audiostart import cut, silence, start_offset
from .textsubs import retarget, rewritten
from .video import is_cover, video_stream

log = logging.getLogger(__name__)

# Tags that describe the source file's encoding, not its content: the new file's muxer writes its own.
STALE_TAGS = ("duration", "encoder", "major_brand", "minor_version", "compatible_brands", "bps", "number_of_frames",
              "number_of_bytes", "_statistics_")

# A cover image's MIME type and file suffix by its codec: Matroska keeps a cover as an attached file.
COVER_FILES = {"mjpeg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"), "bmp": ("image/bmp", ".bmp"),
               "gif": ("image/gif", ".gif"), "webp": ("image/webp", ".webp"), "tiff": ("image/tiff", ".tif")}
# Output formats whose muxer writes a cover image stream as the file's cover (.mp4's covr; .mov and .m4v do not).
COVER_STREAM_FORMATS = ("mp4",)


def left_out(what: str, output: av.container.OutputContainer) -> None:
    """Say that ``what`` of the source does not go into ``output``: never dropped in silence."""
    hint = "" if output.format.name.startswith("matroska") else " (an .mkv output keeps it)"
    log.warning("%s cannot go into '%s'; it is left out%s", what, Path(output.name).suffix or output.name, hint)


def picture(source: Path, index: int) -> bytes:
    """The encoded picture of the cover image stream ``index`` of ``source``: its one packet (empty if it has none)."""
    with av.open(str(source)) as container:
        packet = next((p for p in container.demux(container.streams[index]) if p.size), None)
        return b"" if packet is None else bytes(packet)


def content_tags(metadata: dict[str, str]) -> dict[str, str]:
    """``metadata`` without the tags that only held for the source's encoding (``STALE_TAGS``, any language suffix)."""
    return {k: v for k, v in metadata.items() if not k.lower().startswith(STALE_TAGS)}


def copy_tags(source: av.stream.Stream, out: av.stream.Stream) -> None:
    """Give ``out`` the language, title and disposition (default, forced, ...) of ``source``.

    An .mp4 or .mov reads a stream's title back as ``name`` but writes only ``title``.
    """
    tags = content_tags(source.metadata)
    if "name" in tags and "title" not in tags:
        tags["title"] = tags.pop("name")
    out.metadata.update(tags)
    out.disposition = source.disposition


def chapters_until(chapters: list[dict], until: float) -> list[dict]:
    """The chapters that start before ``until`` seconds, none ending after it: a clip cut short
    (``compare --seconds``) has no chapter marks past its end."""
    if until == math.inf:
        return chapters
    kept = []
    for chapter in chapters:
        end = math.floor(until / chapter["time_base"] + 1e-9)  # ``until`` in the chapter's own ticks (0.7 s: 700, not 699)
        if chapter["start"] < end:
            kept.append({**chapter, "end": min(chapter["end"], end)})
    return kept


class Passthrough:
    """Audio and subtitle streams of a source file, fed into an output as the video advances."""

    def __init__(self, source: Path, output: av.container.OutputContainer, *, until: float = math.inf):
        self.input = av.open(str(source))
        self.until = until  # seconds on the source's clock: where a cut output ends
        self.routes = {}  # input stream index -> (output stream, re-encode?)
        self.resamplers = {}  # input stream index -> converter to what the encoder takes
        self.starts = {}  # input stream index -> where the video starts (s, the source's clock), for audio starting off it in AVI
        self.next_pts = {}  # input stream index -> the pts its next frame gets, once it starts with the video: AVI's audio plays gapless
        self.rewrites = {}  # input stream index -> its text subtitle packets' rewrite into the output's form (textsubs)
        self._copy_file_tags(output)
        video = video_stream(self.input)
        self.video_start = float((video.start_time or 0) * video.time_base) if video is not None else 0.0  # s, the source's clock
        for stream in [*self.input.streams.audio, *self.input.streams.subtitles]:
            name = stream.codec_context.name
            offset = start_offset(stream, self.video_start, output)
            if offset:
                self.starts[stream.index] = self.video_start
            fits = copyable(source, stream.index, output)
            # Late AAC in .mp4 (copied, or encoded) reads back 1024 samples (21 ms at 48 kHz) before the source's start:
            # the encoder's priming, which Matroska marks to skip and FFmpeg's mp4 muxer, for a late track, keeps after
            # the empty edit; players decode it (near-silence). The sound stays in place, to a millisecond: nothing to shift.
            if fits and not offset:
                self.routes[stream.index] = (output.add_stream_from_template(stream), False)
            elif offset and fits and encodes(stream.codec.canonical_name):  # its own codec: PCM stays PCM, 5.1 stays 5.1
                self.routes[stream.index] = (self._reencoder(source, stream, output, codec=stream.codec.canonical_name, offset=offset), True)
            elif stream.type == "subtitle" and (other := retarget(stream, output)) is not None:
                out, self.rewrites[stream.index] = other
                log.info("subtitle stream #%d (%s) goes into '%s' as %s", stream.index, name, Path(output.name).suffix, out.codec_context.name)
                self.routes[stream.index] = (out, False)
            elif stream.type == "audio" and output.default_audio_codec in av.codecs_available:
                self.routes[stream.index] = (self._reencoder(source, stream, output, offset=offset), True)
            else:
                left_out(f"{stream.type} stream #{stream.index} ({name})", output)
                continue
            copy_tags(stream, self.routes[stream.index][0])
        self._copy_attachments(output)
        self._copy_covers(source, output)
        self._name_the_rest(output)
        streams = [self.input.streams[i] for i in self.routes]
        self.packets = self.input.demux(*streams) if streams else iter(())
        self.pending = None

    def _copy_file_tags(self, output: av.container.OutputContainer) -> None:
        """The container's tags (title, ...) and chapters, and the upscaled video stream's tags, into ``output``."""
        output.metadata.update(content_tags(self.input.metadata))
        chapters = chapters_until(self.input.chapters(), self.until)
        if chapters:
            output.set_chapters(chapters)
        if (upscaled := video_stream(self.input)) is not None and output.streams.video:
            copy_tags(upscaled, output.streams.video[0])

    def _copy_attachments(self, output: av.container.OutputContainer) -> None:
        """Attached files (fonts for subtitles) into a Matroska output; elsewhere each is named in a warning.
        (An attached image is a cover to FFmpeg, a video stream: :meth:`_copy_covers`.)"""
        for stream in self.input.streams:
            if stream.type != "attachment":
                continue
            filename = stream.metadata.get("filename", f"attachment{stream.index}")
            if output.format.name == "matroska":
                output.add_attachment(filename, stream.mimetype or "application/octet-stream", stream.data)
            else:
                left_out(f"attachment '{filename}' (stream #{stream.index})", output)

    def _copy_covers(self, source: Path, output: av.container.OutputContainer) -> None:
        """Cover images (:func:`is_cover`) into a Matroska output as attached files, into an .mp4 as
        its cover; elsewhere each is named in a warning."""
        for stream in self.input.streams.video:
            if not is_cover(stream):
                continue
            codec = stream.codec_context.name
            mimetype, suffix = COVER_FILES.get(codec, ("application/octet-stream", ""))
            filename = stream.metadata.get("filename", f"cover{suffix}")
            if output.format.name == "matroska":
                if data := picture(source, stream.index):
                    output.add_attachment(filename, stream.metadata.get("mimetype", mimetype), data)
                else:
                    log.warning("cover image '%s' (stream #%d) holds no picture; it is left out", filename, stream.index)
            elif output.format.name in COVER_STREAM_FORMATS:
                self.routes[stream.index] = (output.add_stream_from_template(stream), False)
                copy_tags(stream, self.routes[stream.index][0])
            else:
                left_out(f"cover image '{filename}' (stream #{stream.index}, {codec})", output)

    def _name_the_rest(self, output: av.container.OutputContainer) -> None:
        """A warning for each stream nothing above carries: a second video stream (the first that is not
        a cover is the one upscaled), a data stream (timed metadata such as KLV), one of a type FFmpeg does not know."""
        upscaled = getattr(video_stream(self.input), "index", None)
        for stream in self.input.streams:
            if stream.type in ("audio", "subtitle", "attachment") or stream.index == upscaled or is_cover(stream):
                continue
            codec = getattr(stream, "name", None) or "unknown codec"
            if stream.type == "video":
                log.warning("video stream #%d (%s, %dx%d) is left out of '%s': only the first video stream (#%d) is upscaled",
                            stream.index, codec, stream.codec_context.width, stream.codec_context.height, Path(output.name).suffix, upscaled)
            else:
                log.warning("%s stream #%d (%s) is left out of '%s': only audio, subtitles, attachments and cover art go beside the video",
                            stream.type, stream.index, codec, Path(output.name).suffix)

    def _reencoder(self, source: Path, stream: av.AudioStream, output: av.container.OutputContainer, *, codec: str | None = None,
                   offset: float = 0.0) -> av.AudioStream:
        """An output stream of ``codec`` (default: the container's default audio codec), and the resampler
        that feeds it (``offset``: seconds the audio starts after the video, or before it if < 0: :func:`start_offset`)."""
        codec, ctx = codec or output.default_audio_codec, stream.codec_context
        channels = ctx.layout.nb_channels if ctx.layout is not None else ctx.channels
        try:
            rate, sample_format, layout = encoder_settings(codec, ctx.sample_rate, channels, ctx.layout.name)
        except VideoError as e:
            raise VideoError(f"'{source}': audio stream #{stream.index} ({ctx.name}) cannot go into a {Path(output.name).suffix} file: {e}; "
                             "try an .mkv output") from None
        suffix = Path(output.name).suffix
        if offset:
            fix = f"with {offset:.2f} s of silence in front" if offset > 0 else f"without its first {-offset:.2f} s (before the first picture)"
            log.warning("audio stream #%d (%s, %d Hz, %s) starts %.2f s %s the video, which '%s' cannot record; re-encoding it as "
                        "%s (%d Hz, %s) %s, to stay in sync", stream.index, ctx.name, ctx.sample_rate, ctx.layout.name, abs(offset),
                        "after" if offset > 0 else "before", suffix, codec, rate, layout, fix)
        else:
            log.warning("audio stream #%d (%s, %d Hz, %s) cannot go into '%s'; re-encoding it as %s (%d Hz, %s)",
                        stream.index, ctx.name, ctx.sample_rate, ctx.layout.name, suffix, codec, rate, layout)
        out = output.add_stream(codec, rate=rate)
        out.layout, out.format = layout, sample_format
        self.resamplers[stream.index] = av.AudioResampler(format=sample_format, layout=layout, rate=rate)
        return out

    def _mux(self, output: av.container.OutputContainer, packet: av.Packet) -> None:
        out, reencode = self.routes[packet.stream.index]
        if not reencode:
            if not packet.size:  # the demuxer's empty end-of-stream marker
                return
            if (rewrite := self.rewrites.get(packet.stream.index)) is not None:
                if (packet := rewritten(packet, out, rewrite)) is not None:
                    output.mux(packet)
                return
            packet.stream = out
            output.mux(packet)
            return
        resampler = self.resamplers[packet.stream.index]
        try:
            frames = packet.decode()  # an empty packet flushes the decoder
        except av.FFmpegError as e:  # a damaged audio packet: a moment of silence, not a failed job
            log.warning("'%s': an audio packet at %.2f s cannot be decoded (%s); skipped", self.input.name,
                        float((packet.pts or 0) * packet.time_base), e.strerror)
            return
        for frame in frames:
            for converted in resampler.resample(frame):
                index = packet.stream.index
                if index in self.starts and (converted := self._start_with_video(output, out, index, converted)) is None:
                    continue
                # From the video's start, numbered gapless, as AVI plays it: an .mkv's millisecond stamps overlap by a
                # few samples, and the encoder's packets would collide in AVI's ticks of one packet each.
                if index in self.next_pts:
                    converted.pts, converted.time_base = self.next_pts[index], Fraction(1, converted.sample_rate)
                    self.next_pts[index] += converted.samples
                output.mux(out.encode(converted))

    def _start_with_video(self, output: av.container.OutputContainer, out: av.AudioStream, index: int,
                          frame: av.AudioFrame) -> av.AudioFrame | None:
        """``frame``, the first of stream ``index``, which starts off the video's start (:func:`start_offset`),
        made to start with the video: late audio gets silence in front, early audio loses its lead (None
        while ``frame`` is all lead). The stream's next frames follow from there (``next_pts``)."""
        rate = frame.sample_rate
        begin = round(self.starts[index] * rate)
        start = round(frame.pts * frame.time_base * rate) if frame.pts is not None else begin
        if start + frame.samples <= begin:
            return None
        del self.starts[index]
        if start > begin:
            output.mux(out.encode(silence(frame, start - begin, pts=begin)))
        elif start < begin:
            frame = cut(frame, begin - start, pts=begin)
        self.next_pts[index] = max(start, begin)
        return frame

    def feed_until(self, output: av.container.OutputContainer, seconds: float) -> None:
        """Mux every packet that starts before ``seconds`` (``inf``: all that are left)."""
        while True:
            if self.pending is None:
                try:
                    self.pending = next(self.packets, None)
                except av.FFmpegError:  # a truncated file: the video's reader warns about it
                    self.packets = iter(())
                if self.pending is None:
                    return
            packet = self.pending
            stamp = packet.dts if packet.dts is not None else packet.pts
            if stamp is not None and float(stamp * packet.time_base) > seconds:
                return
            self.pending = None
            self._mux(output, packet)

    def finish(self, output: av.container.OutputContainer, until: float) -> None:
        self.feed_until(output, until)
        for index, (out, reencode) in self.routes.items():
            if reencode:
                for converted in self.resamplers[index].resample(None):  # what the resampler still holds
                    output.mux(out.encode(converted))
                output.mux(out.encode(None))

    def close(self) -> None:
        self.input.close()
