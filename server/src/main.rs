//! `kato-server`: parse the command line and settings, then serve (or run a sub-command).

use kato_server::cli;

fn main() -> anyhow::Result<()> {
    cli::main()
}
