//! Throughput of the JUnit and Playwright readers on generated reports of a few MB.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Builds a JUnit document of about `target_len` bytes with a mix of outcomes.
fn junit_report(target_len: usize) -> String {
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bench\">\n");
    let mut suite = 0;
    while xml.len() < target_len {
        writeln!(xml, "  <testsuite name=\"suite.{suite}\" tests=\"50\">").unwrap();
        for case in 0..50 {
            write!(
                xml,
                "    <testcase classname=\"com.example.Suite{suite}\" name=\"test_{case}_does_something\" time=\"0.{case:03}\" file=\"src/suite{suite}.rs\" line=\"{case}\">"
            )
            .unwrap();
            match case % 10 {
                0 => xml.push_str(
                    "\n      <failure message=\"expected 4, got 5\" type=\"AssertionError\">at Suite.test (suite.js:10:5)\n    at run (runner.js:20:3) &lt;anonymous&gt;</failure>\n      <system-out><![CDATA[log line one\nlog line two]]></system-out>\n    ",
                ),
                1 => xml.push_str("<skipped message=\"not on this platform\"/>"),
                _ => xml.push_str("\n      <system-out>some captured output of the test</system-out>\n    "),
            }
            xml.push_str("</testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
        suite += 1;
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Builds a Playwright JSON report of about `target_len` bytes.
fn playwright_report(target_len: usize) -> String {
    let mut specs = Vec::new();
    let mut len = 0;
    let mut index = 0;
    while len < target_len {
        let spec = format!(
            r#"{{"title":"spec {index} @smoke","tags":["smoke"],"file":"a.spec.ts","line":{index},"column":3,"tests":[{{"projectName":"chromium","projectId":"chromium","status":"expected","annotations":[],"results":[{{"status":"passed","duration":120,"retry":0,"errors":[],"steps":[{{"title":"open page","category":"test.step","duration":20,"steps":[]}}],"attachments":[{{"name":"screenshot","contentType":"image/png","path":"/tmp/shot-{index}.png"}}],"stdout":[{{"text":"hello from test {index}\n"}}],"stderr":[]}}]}}]}}"#
        );
        len += spec.len();
        specs.push(spec);
        index += 1;
    }
    format!(
        r#"{{"config":{{"version":"1.55.0"}},"suites":[{{"title":"a.spec.ts","file":"a.spec.ts","specs":[],"suites":[{{"title":"group","file":"a.spec.ts","specs":[{}],"suites":[]}}]}}],"errors":[]}}"#,
        specs.join(",")
    )
}

fn bench_readers(c: &mut Criterion) {
    let path = Path::new("bench-report");
    let mut group = c.benchmark_group("readers");

    let junit = junit_report(4 << 20);
    group.throughput(Throughput::Bytes(junit.len() as u64));
    group.bench_function("junit", |b| {
        b.iter(|| {
            let mut count = 0;
            for result in trail_reports::junit::read(junit.as_bytes(), path) {
                black_box(result.unwrap());
                count += 1;
            }
            black_box(count)
        });
    });

    let playwright = playwright_report(4 << 20);
    group.throughput(Throughput::Bytes(playwright.len() as u64));
    group.bench_function("playwright", |b| {
        b.iter(|| {
            let count = trail_reports::playwright::read(playwright.as_bytes(), path)
                .unwrap()
                .count();
            black_box(count)
        });
    });

    group.finish();
}

criterion_group!(benches, bench_readers);
criterion_main!(benches);
