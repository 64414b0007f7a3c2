//! CLI subcommands other than `serve` (which is `startup`): small tools that work on the data
//! directory of a server.

pub mod token;
