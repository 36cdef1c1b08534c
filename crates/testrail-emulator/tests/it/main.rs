//! Integration tests: each starts an emulator on 127.0.0.1:0 and drives it
//! over HTTP.

mod basics;
mod common;
mod faults;
mod results;
mod runs;
mod seed;
