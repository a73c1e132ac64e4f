"""The segments' packets into one file, with the input's audio and subtitles: a remux, no re-encode.

Each segment was encoded with its frames' original pts and durations in the input's time base, and
the input's pixel shape, so its packets keep them (the last one's duration is where the video ends).
Only the decode timestamps need care at a seam: an encoder with B-frames starts its dts a few ticks
before its first pts, which can fall at or before the previous segment's last dts; such a dts is
moved just past it (still at or before its pts), as a muxer requires.
"""

from pathlib import Path

import av

from ..errors import VideoError
from ..io.atomic import atomic_path
from ..io.passthrough import Passthrough
from ..io.video import pixel_shape
from ..io.writer import check_pixel_shape

# The segments are only demuxed. Without this, opening one makes FFmpeg's stream probe decode a
# frame to learn the pixel format: ~30 ms a segment at 1440p, 30x the rest of its join (measured).
# The first segment, the output stream's template, is opened in full.
PACKETS_ONLY = {"skip_frame": "all"}


def join_segments(parts: list[Path], input: Path, output: Path, *, rotation: int = 0, overwrite: bool = False) -> int:
    """Remux the video of ``parts`` (in order) and the audio/subtitles of ``input`` into ``output``; return the packet count."""
    count = 0
    with atomic_path(output, overwrite=overwrite) as tmp, av.open(str(tmp), "w") as out:
        with av.open(str(parts[0])) as first:
            template = first.streams.video[0]
            video = out.add_stream_from_template(template)
            video.time_base = template.time_base
            sar = pixel_shape(template)
        if sar:  # the template's codec parameters hold it only where the codec does (H.264 does; .mp4's 'pasp' is the stream's)
            video.codec_context.sample_aspect_ratio = sar
        if rotation:
            video.set_display_rotation(rotation)
        source = Passthrough(input, out)
        try:
            last_dts = None
            for part in parts:
                with av.open(str(part), options=PACKETS_ONLY) as container:
                    for packet in container.demux(container.streams.video[0]):
                        if not packet.size:  # the demuxer's empty end-of-stream marker
                            continue
                        packet.dts = _seam_dts(packet, last_dts, part)
                        last_dts = packet.dts
                        source.feed_until(out, float(packet.dts * packet.time_base))
                        packet.stream = video
                        out.mux(packet)
                        count += 1
            source.finish(out, float("inf"))
        finally:
            source.close()
    if sar:
        check_pixel_shape(output, sar, name=output)
    return count


def _seam_dts(packet: av.Packet, last_dts: int | None, part: Path) -> int:
    dts = packet.dts if packet.dts is not None else packet.pts
    if last_dts is None or dts > last_dts:
        return dts
    if packet.pts is not None and last_dts + 1 > packet.pts:
        raise VideoError(f"segment '{part}' cannot follow the one before it: its packet at pts {packet.pts} decodes "
                         f"before {last_dts}; delete the work folder and run again")
    return last_dts + 1
