"""Audio and subtitle streams carried from a source file into an output as its video advances.

Packets are copied as they are where the output container accepts their codec; audio it does
not accept is decoded and re-encoded with the container's default audio codec (AAC in .mp4);
a subtitle stream it cannot hold is named in a warning, never dropped in silence. Packets are
muxed in step with the video (everything that starts before the frame being written), so the
muxer interleaves without buffering the whole file.
"""

from __future__ import annotations

import logging
from pathlib import Path

try:
    import av
except ImportError:  # see vsrgan.video: only video I/O needs PyAV
    av = None

log = logging.getLogger(__name__)


class Passthrough:
    """Audio and subtitle streams of a source file, fed into an output as the video advances."""

    def __init__(self, source: Path, output: av.container.OutputContainer):
        self.input = av.open(str(source))
        self.routes = {}  # input stream index -> (output stream, re-encode?)
        self.resamplers = {}  # input stream index -> converter to the encoder's sample format
        for stream in [*self.input.streams.audio, *self.input.streams.subtitles]:
            name = stream.codec_context.name
            if name in output.supported_codecs:
                self.routes[stream.index] = (output.add_stream_from_template(stream), False)
            elif stream.type == "audio":
                codec = output.default_audio_codec
                log.warning("audio stream #%d (%s) cannot go into '%s'; re-encoding it as %s", stream.index, name, output.name, codec)
                out = output.add_stream(codec, rate=stream.codec_context.sample_rate)
                # the default layout for the channel count: an "unspecified order" layout
                # (as PCM in AVI has) is refused by the AAC encoder
                channels = len(stream.codec_context.layout.channels)
                out.layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}.0")
                out.format = out.codec_context.codec.audio_formats[0]  # fltp for AAC and Opus
                self.resamplers[stream.index] = av.AudioResampler(format=out.format, layout=out.layout, rate=out.rate)
                self.routes[stream.index] = (out, True)
            else:
                log.warning(
                    "subtitle stream #%d (%s) cannot go into '%s'; it is left out (an .mkv output keeps it)",
                    stream.index, name, Path(output.name).suffix or output.name,
                )
        streams = [self.input.streams[i] for i in self.routes]
        self.packets = self.input.demux(*streams) if streams else iter(())
        self.pending = None

    def _mux(self, output: av.container.OutputContainer, packet: av.Packet) -> None:
        out, reencode = self.routes[packet.stream.index]
        if not reencode:
            if not packet.size:  # the demuxer's empty end-of-stream marker
                return
            packet.stream = out
            output.mux(packet)
            return
        resampler = self.resamplers[packet.stream.index]
        for frame in packet.decode():  # an empty packet flushes the decoder
            for converted in resampler.resample(frame):
                output.mux(out.encode(converted))

    def feed_until(self, output: av.container.OutputContainer, seconds: float) -> None:
        """Mux every packet that starts before ``seconds`` (``inf``: all that are left)."""
        while True:
            if self.pending is None:
                self.pending = next(self.packets, None)
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
        for out, reencode in self.routes.values():
            if reencode:
                output.mux(out.encode(None))

    def close(self) -> None:
        self.input.close()
