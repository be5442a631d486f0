//! Process memory settings shared by the services that move large documents and studies.

/// Turns transparent huge pages off for the whole process (`PR_SET_THP_DISABLE`).
///
/// mimalloc asks for transparent huge pages on its arenas (`MADV_HUGEPAGE`), so each 2 MiB page
/// becomes resident as soon as one byte of it is touched: the buffers of one 150 MB ITI-41 left
/// 28 MiB of them partly used (repository peak RSS 45-65 MiB against its 64 MB goal, 24-35 MiB
/// without them). Call it first in `main`, before the runtime allocates; a kernel that refuses
/// leaves them on, with a warning naming `service`.
pub fn disable_transparent_huge_pages(service: &str) {
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("{service}: transparent huge pages stay on ({error})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_huge_pages_are_off_after_the_call() {
        disable_transparent_huge_pages("test");
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled(),
            Ok(true)
        );
    }
}
