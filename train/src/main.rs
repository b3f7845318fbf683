use clap::Parser;

fn main() {
    let cli = smae_train::cli::Cli::parse();
    if let Err(e) = smae_train::cli::run(cli) {
        // One line: the error and its causes.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
