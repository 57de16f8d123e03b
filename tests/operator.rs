//! Integration tests for issue 6: check, vagrant, completions, man, output conventions.
