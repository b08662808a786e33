// The strict JSON module is part of the core API (configuration, --json documents).
@_exported import StrictJSON
