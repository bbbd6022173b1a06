"""``shopbot generator serve``: serve guarded replies over HTTP (templates without a model)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="interface (default SHOPBOT_INTERNAL_HOST, 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default settings.generator_port, 8008)"
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--model-dir", default=None, help="trained model (default settings.generator_dir)"
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "torch", "ct2"],
        default="auto",
        help="auto (default): CTranslate2 int8 on the CPU when installed (measured faster), "
        "else torch; torch: always works; ct2: CTranslate2 only",
    )
    parser.add_argument(
        "--max-batch", type=int, default=32, help="requests generated together (1 = no batching)"
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=None,
        help="how long a request waits for others to batch with when the service is idle "
        "(default 0: none; requests that arrive during a batch form the next one)",
    )
    parser.add_argument("--queue-size", type=int, default=256, help="pending requests before 503")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1; 0 = torch's choice)"
    )
    parser.add_argument(
        "--watch-s",
        type=float,
        default=5.0,
        help="check the model folder this often and load a newly trained model without a "
        "restart (its metrics.json appearing or changing); 0 = off (default 5)",
    )


def run(args: argparse.Namespace) -> int:
    from models.generator.service import ServiceConfig, serve
    from shopbot.secret_store import settings_for_command
    from shopbot.speedfixes import enabled

    max_wait_ms = args.max_wait_ms
    if max_wait_ms is None:  # the 5 ms of every request before issue 14's `gen-no-wait`
        max_wait_ms = 0.0 if enabled("gen-no-wait") else 5.0

    settings = settings_for_command("shopbot generator serve")
    if settings is None:
        return 2
    serve(
        args.model_dir or settings.generator_dir,
        token=settings.generator_token,
        host=args.host or settings.internal_host,
        port=args.port or settings.generator_port,
        device=args.device,
        backend=args.backend,
        config=ServiceConfig(
            max_batch=max(1, args.max_batch),
            max_wait_ms=max_wait_ms,
            queue_size=args.queue_size,
        ),
        threads=args.threads or None,
        watch_s=args.watch_s,
        lazy_candidates=enabled("gen-first-candidate"),
    )
    return 0
