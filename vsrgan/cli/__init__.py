"""The command line: parse flags, call the Python API, turn a VsrganError into one line and an exit code.

Each subcommand has an ``add_*_parser`` function, in the module of its job (``upscale``,
``dataset``, ``training``, ``evaluation``, ``benchmark``, ``export``), that builds its parser and sets ``run``
to a function taking the parsed arguments. :func:`main` is the only place that turns an error
into text and an exit code, and the one place that handles signals: Ctrl-C, SIGTERM and SIGHUP
stop any job the same way (:mod:`vsrgan.io.stop`), with one line and exit code 128 + the signal.
"""

import argparse
import logging
import signal
import sys

from ..errors import VsrganError
from ..io.stop import Stopped, handle_signals
from ..version import __version__
from .benchmark import add_bench_parser
from .dataset import add_degrade_parser, add_prepare_parser
from .evaluation import add_compare_parser, add_evaluate_parser
from .export import add_export_parser
from .options import SubcommandParser
from .training import add_train_parser
from .upscale import add_models_parser, add_upscale_parser

PARSERS = [
    add_upscale_parser,
    add_models_parser,
    add_prepare_parser,
    add_degrade_parser,
    add_train_parser,
    add_evaluate_parser,
    add_compare_parser,
    add_bench_parser,
    add_export_parser,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsrgan", description="Sharp video upscaling with SRResNet / SRGAN.")
    parser.add_argument("--version", action="version", version=f"vsrgan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=SubcommandParser)
    for add in PARSERS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="vsrgan: %(message)s")
    try:
        with handle_signals():
            args.run(args)
    except VsrganError as e:
        print(f"vsrgan: error: {e}", file=sys.stderr)
        return e.exit_code
    except Stopped as e:
        what = "interrupted" if e.signum == signal.SIGINT else f"stopped by {signal.Signals(e.signum).name}"
        print(f"vsrgan: {what}; {e.note}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("vsrgan: interrupted; no output was written", file=sys.stderr)
        return 130
    return 0
