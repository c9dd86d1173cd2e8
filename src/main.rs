/// Rendering a page makes and drops many small allocations across threads: mimalloc's
/// thread-local heaps serve them for much less than glibc's malloc (see Cargo.toml).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match portal::server::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Tracing may not be up yet (e.g. a configuration error): say it plainly on stderr.
            eprintln!("portal: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser side starts in `portal::hydrate`; this binary is only built with `ssr`.
}
