//! The local admin socket (placeholder, filled in below).
