//! Which Lambda function the running code serves.
//!
//! On Lambda every function is its own process, so this is the same for a whole process. The tests and
//! the local runner serve every function in one process, so each entry point (a route's handler, the
//! console, the workers, the KYC task) runs inside [`serve_as`]: the AWS call log
//! ([`pivota_aws::call_log`]) attributes each AWS call to the function that made it, and the per-process
//! caches keep one entry per function, as separate processes would.

use std::future::Future;

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// Runs `work` as `function` (a binary in `functions/`, as `api::Route::function` names it). Inside another
/// function's work, the outer one stays: the console dispatches API routes in process, and those calls are
/// the console's.
pub async fn serve_as<F: Future>(function: &'static str, work: F) -> F::Output {
    if current().is_some() { work.await } else { FUNCTION.scope(function, work).await }
}

/// The function the running task serves, if it is inside [`serve_as`].
pub fn current() -> Option<&'static str> {
    FUNCTION.try_with(|function| *function).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outermost_function_is_the_one_that_runs() {
        assert_eq!(current(), None);
        let inner = serve_as("console", async { serve_as("psp-connect", async { current() }).await }).await;
        assert_eq!(inner, Some("console"));
        assert_eq!(serve_as("register", async { current() }).await, Some("register"));
    }
}
