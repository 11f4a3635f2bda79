//! Support code for the end-to-end tests: starting the real `kato-server` binary and talking
//! to it as a client would.
