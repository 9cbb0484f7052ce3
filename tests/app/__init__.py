"""Unit tests of colorcore.app, one file per module (a package, so their names cannot clash with tests/)."""
