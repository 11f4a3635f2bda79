//! `kato-server`: parse the command line and settings, then serve (or run a sub-command).

use kato_server::cli;

/// mimalloc instead of the system allocator (see server/Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    cli::main()
}
