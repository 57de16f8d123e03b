//! Lab tests (issue 3).
