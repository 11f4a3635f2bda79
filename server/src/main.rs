//! `kato-server`: parse the command line and settings, then serve (or run a sub-command).

use kato_server::cli;

/// jemalloc instead of the system allocator (see server/Cargo.toml).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    cli::main()
}
