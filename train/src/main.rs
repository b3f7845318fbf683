use clap::Parser;

fn main() {
    let cli = smae_train::cli::Cli::parse();
    let result = smae_train::distributed::init().and_then(|()| smae_train::cli::run(cli));
    if let Err(e) = result {
        // One line: the error and its causes.
        match smae_train::distributed::world() {
            Some(w) => {
                eprintln!("error: rank {} of {}: {e:#}", w.rank, w.size);
                // Every rank stops: the others may wait in a collective.
                smae_train::distributed::abort(1);
            }
            None => {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
        }
    }
    smae_train::distributed::finish();
}
