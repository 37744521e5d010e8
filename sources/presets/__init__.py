"""Provider presets: how each provider signs its webhooks (see registry.PRESETS)."""
