//! (being ported from the old lab)
