//! Selection of the files that are attached to a test's TestRail result.
//!
//! Paths are resolved against the directory of the report that names
//! them. A path that leads outside that directory, symbolic links
//! included, is skipped unless the options allow it, so a crafted report
//! cannot make trail upload files such as `~/.ssh/id_rsa`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use trail_reports::{Attachment, TestResult};

use crate::options::AttachmentOptions;

/// A file to attach to a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAttachment {
    /// File name sent to TestRail.
    pub file_name: String,
    /// Origin of the bytes.
    pub source: AttachmentSource,
    /// Size in bytes when planned.
    pub size: u64,
}

/// Origin of the bytes of an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentSource {
    /// A file, as an absolute path with symbolic links resolved.
    Path(PathBuf),
    /// A body that the report carries inline, base64-encoded.
    Inline(String),
}

impl PlannedAttachment {
    /// Reads the bytes to upload.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match &self.source {
            AttachmentSource::Path(path) => std::fs::read(path),
            AttachmentSource::Inline(body) => base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
    }
}

/// Returns the attachments of a test that can be uploaded, and pushes a
/// warning for each one that cannot: missing, too large or outside the
/// report's directory.
pub fn plan_attachments(
    result: &TestResult,
    options: &AttachmentOptions,
    warnings: &mut Vec<String>,
) -> Vec<PlannedAttachment> {
    if !options.enabled || result.attachments.is_empty() {
        return Vec::new();
    }
    let report_dir = report_dir(&result.origin.report);
    let prefix = result
        .project
        .as_deref()
        .map(|project| format!("{}-", safe_name(project)))
        .unwrap_or_default();
    let test = &result.identity.name;

    let mut planned = Vec::new();
    for attachment in &result.attachments {
        let file_name = format!("{prefix}{}", file_name(attachment));
        if let Some(body) = &attachment.body {
            let size = body.len() as u64;
            if size > options.max_bytes {
                warnings.push(too_large(&file_name, test, size, options.max_bytes));
                continue;
            }
            planned.push(PlannedAttachment {
                file_name,
                source: AttachmentSource::Inline(
                    base64::engine::general_purpose::STANDARD.encode(body),
                ),
                size,
            });
            continue;
        }
        let Some(path) = &attachment.path else {
            continue;
        };

        let full = report_dir.join(path);
        let Ok(real) = full.canonicalize() else {
            warnings.push(format!(
                "attachment `{}` of `{test}` is missing: `{}`",
                attachment.name,
                full.display()
            ));
            continue;
        };
        if !options.allow_outside && !real.starts_with(&report_dir) {
            warnings.push(format!(
                "attachment `{}` of `{test}` is outside the report's directory `{}`, so it is not uploaded: `{}` (pass --allow-attachments-outside to upload it)",
                attachment.name,
                report_dir.display(),
                real.display()
            ));
            continue;
        }
        let size = match std::fs::metadata(&real) {
            Ok(metadata) if metadata.is_file() => metadata.len(),
            _ => {
                warnings.push(format!(
                    "attachment `{}` of `{test}` is not a readable file: `{}`",
                    attachment.name,
                    real.display()
                ));
                continue;
            }
        };
        if size > options.max_bytes {
            warnings.push(too_large(&file_name, test, size, options.max_bytes));
            continue;
        }
        planned.push(PlannedAttachment {
            file_name,
            source: AttachmentSource::Path(real),
            size,
        });
    }
    planned
}

/// Returns the absolute directory of a report, symbolic links resolved.
fn report_dir(report: &Path) -> PathBuf {
    let parent = match report.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.canonicalize().unwrap_or(parent)
}

fn too_large(file_name: &str, test: &str, size: u64, max: u64) -> String {
    format!(
        "attachment `{file_name}` of `{test}` is {:.1} MiB, over the {:.1} MiB limit, so it is not uploaded (raise --attachment-max-mb to upload it)",
        size as f64 / 1_048_576.0,
        max as f64 / 1_048_576.0
    )
}

/// Picks the uploaded file name: the file's own name, or for an inline body
/// the attachment name with an extension for its content type.
fn file_name(attachment: &Attachment) -> String {
    // Paths written on Windows keep backslashes, which are no separator on
    // other systems.
    if let Some(path) = &attachment.path {
        let text = path.to_string_lossy();
        if let Some(name) = text.rsplit(['/', '\\']).next().filter(|n| !n.is_empty()) {
            return safe_name(name);
        }
    }
    let extension = match attachment.content_type.as_deref().unwrap_or_default() {
        "text/plain" => "txt",
        "application/json" => "json",
        "text/markdown" => "md",
        "text/html" => "html",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "video/webm" => "webm",
        "application/zip" => "zip",
        _ => "bin",
    };
    let name = if attachment.name.trim().is_empty() {
        "attachment"
    } else {
        attachment.name.trim()
    };
    format!("{}.{extension}", safe_name(name))
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_attachment(report: &Path, attachment: Attachment) -> TestResult {
        let mut result = TestResult::default();
        result.identity.name = "logs in".into();
        result.origin.report = report.to_path_buf();
        result.attachments.push(attachment);
        result
    }

    fn file(name: &str, path: &Path) -> Attachment {
        let mut attachment = Attachment::default();
        attachment.name = name.into();
        attachment.path = Some(path.to_path_buf());
        attachment
    }

    #[test]
    fn relative_path_resolves_in_report_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shot.png"), b"png").unwrap();
        let result = with_attachment(
            &dir.path().join("results.json"),
            file("screenshot", Path::new("shot.png")),
        );
        let mut warnings = Vec::new();
        let planned = plan_attachments(&result, &AttachmentOptions::default(), &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].file_name, "shot.png");
        assert_eq!(planned[0].read().unwrap(), b"png");
    }

    #[test]
    fn path_outside_report_dir_is_skipped() {
        let outer = tempfile::tempdir().unwrap();
        let reports = outer.path().join("reports");
        std::fs::create_dir(&reports).unwrap();
        std::fs::write(outer.path().join("secret.txt"), b"key").unwrap();
        let result = with_attachment(
            &reports.join("results.json"),
            file("log", Path::new("../secret.txt")),
        );

        let mut warnings = Vec::new();
        let planned = plan_attachments(&result, &AttachmentOptions::default(), &mut warnings);
        assert!(planned.is_empty());
        assert!(warnings[0].contains("outside"), "{warnings:?}");

        let allowed = AttachmentOptions {
            allow_outside: true,
            ..AttachmentOptions::default()
        };
        let planned = plan_attachments(&result, &allowed, &mut Vec::new());
        assert_eq!(planned.len(), 1);
    }

    #[test]
    fn missing_and_large_files_warn() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.webm"), vec![0u8; 2048]).unwrap();
        let mut result = with_attachment(
            &dir.path().join("results.json"),
            file("video", Path::new("big.webm")),
        );
        result
            .attachments
            .push(file("trace", Path::new("gone/trace.zip")));
        let options = AttachmentOptions {
            max_bytes: 1024,
            ..AttachmentOptions::default()
        };
        let mut warnings = Vec::new();
        let planned = plan_attachments(&result, &options, &mut warnings);
        assert!(planned.is_empty());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("over the"), "{warnings:?}");
        assert!(warnings[1].contains("missing"), "{warnings:?}");
    }

    #[test]
    fn inline_body_gets_extension() {
        let mut attachment = Attachment::default();
        attachment.name = "api response".into();
        attachment.content_type = Some("application/json".into());
        attachment.body = Some(b"{}".to_vec());
        let mut result = with_attachment(Path::new("results.json"), attachment);
        result.project = Some("firefox".into());
        let planned = plan_attachments(&result, &AttachmentOptions::default(), &mut Vec::new());
        assert_eq!(planned[0].file_name, "firefox-api-response.json");
        assert_eq!(planned[0].read().unwrap(), b"{}");
    }
}
