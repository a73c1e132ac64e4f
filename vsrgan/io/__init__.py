"""Media in and out: everything that touches a file or a signal, nothing that runs a network.

``video`` decodes (``read_frames``, ``probe``) and ``writer`` encodes (``VideoWriter``) with the
options of ``encoding``; ``passthrough`` copies audio, subtitles, chapters, attachments and cover
art as they are, naming every stream it leaves out (``audiocodecs``: copy or re-encode; ``audiostart``: audio off the video's start in AVI; ``textsubs``: text subtitles between mov_text and SubRip); ``colour`` decides the Y'CbCr matrix a frame is read and written with; ``damage`` notices a
truncated input; ``ffmpeglog`` collects FFmpeg's log for them, owning PyAV's global log level; ``images`` reads and writes still images (16-bit, ICC profiles, EXIF
orientation); ``frames`` is the one place where ``uint8 (H, W, 3)`` frames become float ``(N, 3,
H, W)`` tensors and back; ``atomic`` writes every output beside its target and renames it on
success; ``stop`` turns Ctrl-C, SIGTERM and SIGHUP into a clean stop at a frame boundary;
``events`` announces milestones (``VSRGAN_EVENTS``) for the tests that stop a job midway.
"""
