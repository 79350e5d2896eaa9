// Placeholder: EmbeddedFixture lands with the embedded adapters.
