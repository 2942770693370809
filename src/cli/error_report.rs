//! The one-line error message the binary prints: the error's chain of causes joined by ": ".
//! Our library errors already spell their cause into their own message (`"{path}: {source}"`,
//! so a bare `to_string()` is complete) while still exposing it as `source()`, so a cause whose
//! text already ends the message so far is skipped instead of printed twice.

/// `outer: inner: innermost`, each cause once.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.ends_with(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::error_message;

    /// Shaped like our library errors: the cause in the message and as `source()`.
    #[derive(Debug)]
    struct Spelled {
        path: &'static str,
        source: std::io::Error,
    }

    impl std::fmt::Display for Spelled {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "reading {}: {}", self.path, self.source)
        }
    }

    impl std::error::Error for Spelled {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    fn missing() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
    }

    #[test]
    fn a_cause_spelled_into_its_parent_is_printed_once() {
        let error = anyhow::Error::new(Spelled {
            path: "space.toml",
            source: missing(),
        })
        .context("co-design space space.toml");
        assert_eq!(
            error_message(&error),
            "co-design space space.toml: reading space.toml: No such file or directory"
        );
        assert_eq!(format!("{error:#}").matches("No such file").count(), 2);
    }

    #[test]
    fn causes_not_in_the_message_are_all_kept() {
        let error = anyhow::Error::new(missing())
            .context("loading x")
            .context("run");
        assert_eq!(
            error_message(&error),
            "run: loading x: No such file or directory"
        );
    }
}
