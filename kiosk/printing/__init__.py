"""Receipts on paper: a printer-neutral document model and its ESC/POS rendering (no Flask here)."""
