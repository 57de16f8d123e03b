//! Integration tests for issue 4: env package --pdf/--cidata, cidata.
