"""T5 reply generator: task registry, pair building, tokenizer, training, fact guard,
HTTP service and client. Heavy libraries (torch, transformers) are imported lazily."""
