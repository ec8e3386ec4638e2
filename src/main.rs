//! The `roster` binary: parse the command line, run it, map the outcome to an exit code.

mod bench;
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
