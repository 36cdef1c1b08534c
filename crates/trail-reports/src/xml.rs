//! Pieces shared by the XML readers: line counting, text and attribute decoding.

use std::io::{self, BufRead, Read};
use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesCData, BytesRef, BytesStart, BytesText};

use crate::error::{ReadError, ReadErrorKind};
use crate::names::push_scrubbed;

/// A `BufRead` wrapper that counts the line feeds the XML parser has consumed.
///
/// quick-xml reports byte offsets only; counting as bytes are consumed gives
/// line numbers without a second pass over the file.
pub(crate) struct LineCounter<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> LineCounter<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineCounter { inner, newlines: 0 }
    }

    /// Returns the number of line feeds consumed so far.
    pub(crate) fn newlines(&self) -> u64 {
        self.newlines
    }
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.newlines += count_newlines(&buf[..read]);
        Ok(read)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // `fill_buf` returns the bytes already buffered without reading, so
        // only the bytes that are about to be consumed are counted.
        if let Ok(buffered) = self.inner.fill_buf() {
            let end = amount.min(buffered.len());
            self.newlines += count_newlines(&buffered[..end]);
        }
        self.inner.consume(amount);
    }
}

/// Counts line feeds; the simple loop compiles to vector instructions.
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Returns the line, counted from 1, where the tag held by `start` begins.
///
/// `newlines` is the count after the parser consumed the whole tag, so the
/// line feeds inside the tag (between attributes) are taken off again.
pub(crate) fn tag_start_line(newlines: u64, start: &BytesStart<'_>) -> u64 {
    let inside: &str = start;
    newlines - count_newlines(inside.as_bytes()).min(newlines) + 1
}

/// Returns the local name of an element, without a namespace prefix.
pub(crate) fn local_name<'a>(start: &'a BytesStart<'_>) -> &'a str {
    let name: &str = start;
    let end = name
        .find(|c: char| c.is_ascii_whitespace() || c == '/')
        .unwrap_or(name.len());
    let name = &name[..end];
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// Returns the decoded value of an attribute.
///
/// Predefined entities and character references are resolved. A value with
/// an unknown entity, which would need a DTD to resolve, is kept as written.
pub(crate) fn attribute_value(attribute: &Attribute<'_>) -> String {
    let value = attribute
        .normalized_value(XmlVersion::Implicit1_0)
        .unwrap_or_else(|_| attribute.value.clone());
    crate::names::scrubbed(&value)
}

/// Calls `each` with the local name and decoded value of every attribute of `start`.
///
/// Malformed attributes are skipped: one broken attribute should not lose a test.
pub(crate) fn for_each_attribute(start: &BytesStart<'_>, mut each: impl FnMut(&str, String)) {
    for attribute in start.attributes().with_checks(false).flatten() {
        let key = attribute.key.local_name();
        each(key.as_ref(), attribute_value(&attribute));
    }
}

/// Appends the text of a text event to `out`.
pub(crate) fn push_text(out: &mut String, text: &BytesText<'_>) {
    push_scrubbed(out, &text.xml10_content());
}

/// Appends the content of a CDATA section to `out`.
pub(crate) fn push_cdata(out: &mut String, cdata: &BytesCData<'_>) {
    push_scrubbed(out, &cdata.xml10_content());
}

/// Appends the text an entity or character reference stands for.
///
/// Unknown entities are kept as written (`&name;`), because resolving them
/// would need the DTD, which trail never loads.
pub(crate) fn push_reference(out: &mut String, reference: &BytesRef<'_>) {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        let mut utf8 = [0; 4];
        push_scrubbed(out, c.encode_utf8(&mut utf8));
        return;
    }
    let name: &str = reference;
    match quick_xml::escape::resolve_predefined_entity(name) {
        Some(text) => out.push_str(text),
        None => {
            out.push('&');
            out.push_str(name);
            out.push(';');
        }
    }
}

/// Converts a quick-xml error into a `ReadError` at the line reached so far.
pub(crate) fn xml_error(path: &Path, newlines: u64, error: quick_xml::Error) -> ReadError {
    let kind = match error {
        quick_xml::Error::Io(io_error) => {
            ReadErrorKind::Io(io::Error::new(io_error.kind(), io_error.to_string()))
        }
        other => ReadErrorKind::Xml(other.to_string()),
    };
    ReadError::at_line(path, newlines + 1, kind)
}

/// Creates a quick-xml reader with the settings every XML reader uses.
pub(crate) fn new_reader<R: BufRead>(reader: R) -> quick_xml::Reader<LineCounter<R>> {
    let mut xml = quick_xml::Reader::from_reader(LineCounter::new(reader));
    let config = xml.config_mut();
    config.trim_text(false);
    config.expand_empty_elements = false;
    config.check_end_names = true;
    xml
}
