"""The consumers of the ledger's topics, one module each, and what runs them.

Each consumer turns records into rows and stores its offsets with them (docs/design.md,
"Consumers and offsets"). This package builds on the library's lower layers and only the
library's entry points import it (docs/design.md, "Layout").
"""
