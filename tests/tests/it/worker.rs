//! The worker: a child process of the aggregator's own binary, confined before it reads a job —
//! its memory, CPU time and wall-clock time bounded, no network, a folder of its own — whose
//! every failure is one job's, never the server's.

use std::time::{Duration, Instant};

use yingjian_aggregator::config::WorkerSettings;
use yingjian_aggregator::worker::{Job, Limits, Network, Probe, Worker, WorkerError};
use yingjian_tests::temp;

fn worker(data: &std::path::Path) -> Worker {
    let settings = WorkerSettings { memory_mib: 256, cpu_secs: 2, ..WorkerSettings::default() };
    Worker::new(&settings, data)
}

const PATIENT: Duration = Duration::from_mins(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_answered_in_a_folder_of_its_own_without_network() {
    let dir = temp();
    let worker = worker(dir.path());
    let echoed: String = worker.run(&Job::Probe(Probe::Echo("读取".into())), PATIENT).await.unwrap();
    assert_eq!(echoed, "读取");
    let folder = worker.folder().unwrap();
    let at: serde_json::Value = worker.run_in(&folder, &Job::Probe(Probe::Where), PATIENT).await.unwrap();
    assert_eq!(at["dir"].as_str().unwrap(), folder.path().to_str().unwrap());
    assert_eq!(at["tmpdir"].as_str().unwrap(), folder.path().to_str().unwrap());
    assert!(folder.path().starts_with(dir.path().join("tmp/worker")));
    let path = folder.path().to_path_buf();
    drop(folder);
    assert!(!path.exists(), "the job's folder goes with it");
    // Nothing listening is reached: the namespace has no route to this machine's loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let to = listener.local_addr().unwrap();
    let connected: bool = worker.run(&Job::Probe(Probe::Connect(to)), PATIENT).await.unwrap();
    assert_eq!(worker.network(), Some(Network::Isolated), "this machine allows network namespaces");
    assert!(!connected);
    assert!(listener.accept().is_err(), "no connection reached the listener");
    assert!(worker.peak_rss() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_costs_the_job_alone() {
    let dir = temp();
    let worker = worker(dir.path());
    let refused = worker.run::<String>(&Job::Probe(Probe::Refuse("图片过大".into())), PATIENT).await;
    assert!(matches!(&refused, Err(WorkerError::Refused(why)) if why == "图片过大"), "{refused:?}");

    // Within the limit: fine, and the peak reported is about what was used.
    let held: u64 = worker.run(&Job::Probe(Probe::Allocate(64)), PATIENT).await.unwrap();
    assert_eq!(held, 64 << 20);
    assert!(worker.peak_rss() >= 64 << 20 && worker.peak_rss() < 256 << 20, "{}", worker.peak_rss());
    // Past it: out of memory, and the child never held more than its limit.
    let swollen = worker.run::<u64>(&Job::Probe(Probe::Allocate(1024)), PATIENT).await;
    assert!(matches!(swollen, Err(WorkerError::OutOfMemory)), "{swollen:?}");
    assert!(worker.peak_rss() < 256 << 20);

    let spun = worker.run::<u64>(&Job::Probe(Probe::Spin), PATIENT).await;
    assert!(matches!(spun, Err(WorkerError::CpuLimit)), "{spun:?}");

    let started = Instant::now();
    let slept = worker.run::<u64>(&Job::Probe(Probe::Sleep(600)), Duration::from_secs(1)).await;
    assert!(matches!(slept, Err(WorkerError::Timeout(_))), "{slept:?}");
    assert!(started.elapsed() < Duration::from_mins(1));

    let deep = worker.run::<u64>(&Job::Probe(Probe::Recurse(1_000_000)), PATIENT).await;
    assert!(matches!(&deep, Err(WorkerError::Crashed { signal: Some(_), .. })), "{deep:?}");
    assert!(deep.unwrap_err().reason_zh().contains("嵌套过深"));

    let panicked = worker.run::<u64>(&Job::Probe(Probe::Panic), PATIENT).await;
    assert!(matches!(panicked, Err(WorkerError::Crashed { .. })), "{panicked:?}");

    // And the pool still works.
    let limits = Limits { memory: 512 << 20, cpu: Duration::from_secs(5) };
    let folder = worker.folder().unwrap();
    let held: u64 =
        worker.run_limited(&folder, &Job::Probe(Probe::Allocate(300)), PATIENT, limits).await.unwrap();
    assert_eq!(held, 300 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_given_up_is_killed() {
    let dir = temp();
    let worker = worker(dir.path());
    let job = Job::Probe(Probe::Sleep(600));
    let given_up = tokio::time::timeout(Duration::from_millis(500), worker.run::<u64>(&job, PATIENT)).await;
    assert!(given_up.is_err());
    // Its slot is free again and the next job runs.
    let echoed: String = worker.run(&Job::Probe(Probe::Echo("next".into())), PATIENT).await.unwrap();
    assert_eq!(echoed, "next");
    // No sleeping worker is left: every child of this process is gone or a zombie being reaped.
    yingjian_tests::eventually("the given-up worker to be gone", || async {
        let mine = std::process::id().to_string();
        let sleeping = std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let cmd = std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
            // ppid is the 4th field of stat.
            let ppid = stat.rsplit(')').next().and_then(|s| s.split_whitespace().nth(1)).unwrap_or("");
            ppid == mine && cmd.contains("worker") && !stat.contains(") Z")
        });
        (!sleeping).then_some(())
    })
    .await;
}

// ── hostile files through the real server ─────────────────────────────────────────────────

/// CRC-32 (PNG's), bit by bit: the test files are small once compressed.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Bits written least significant first, as deflate packs them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    bit: u32,
    held: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.held |= ((value >> i) & 1) << self.bit;
            self.bit += 1;
            if self.bit == 8 {
                self.out.push(self.held as u8);
                (self.held, self.bit) = (0, 0);
            }
        }
    }
    /// A Huffman code, sent most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.bit > 0 {
            self.out.push(self.held as u8);
        }
        self.out
    }
}

/// A zlib stream of `n` zero bytes, a few bytes per 258 (fixed Huffman: a zero, then copies).
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman
    bits.code(0x30, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    let mut out = vec![0x78, 0x01];
    out.extend(bits.finish());
    // Adler-32 of zeros: a stays 1, b grows by one a byte.
    let b = (n % 65521) as u32;
    out.extend(((b << 16) | 1).to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    out.extend(crc32(&[&kind, data]).to_be_bytes());
}

/// A black RGB PNG of `side`², a few MB whatever its side; with `broken`, pixels that do not
/// decompress under a good header.
fn png(side: u32, broken: bool) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = side.to_be_bytes().to_vec();
    header.extend(side.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    png_chunk(&mut out, *b"IHDR", &header);
    let data = if broken {
        let mut good = zlib_zeros(u64::from(side) * (1 + 3 * u64::from(side)));
        good.truncate(good.len() / 3);
        good.extend(std::iter::repeat_n(0xa5u8, 4096));
        good
    } else {
        zlib_zeros(u64::from(side) * (1 + 3 * u64::from(side)))
    };
    png_chunk(&mut out, *b"IDAT", &data);
    png_chunk(&mut out, *b"IEND", b"");
    out
}

/// A white bilevel TIFF of `side`², PackBits-compressed.
fn bilevel_tiff(side: u32) -> Vec<u8> {
    let row = side.div_ceil(8) as usize;
    let mut strip = Vec::new();
    for _ in 0..side {
        let mut left = row;
        while left > 0 {
            let run = left.min(128);
            strip.push((257 - run) as u8);
            strip.push(0);
            left -= run;
        }
    }
    let entries: [(u16, u16, u32); 10] = [
        (256, 4, side),
        (257, 4, side),
        (258, 3, 1),
        (259, 3, 32773),
        (262, 3, 0),
        (273, 4, 8),
        (277, 3, 1),
        (278, 4, side),
        (279, 4, strip.len() as u32),
        (284, 3, 1),
    ];
    let mut out = b"II*\0".to_vec();
    out.extend((8 + strip.len() as u32).to_le_bytes());
    out.extend(&strip);
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        if kind == 3 {
            out.extend((value as u16).to_le_bytes());
            out.extend([0, 0]);
        } else {
            out.extend(value.to_le_bytes());
        }
    }
    out.extend(0u32.to_le_bytes());
    out
}

/// A PDF of the given objects (`n 0 obj … endobj`, numbered from 1, the first the catalogue),
/// with a correct cross-reference table.
fn pdf_of(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for at in offsets {
        out.extend(format!("{at:010} 00000 n \n").bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).bytes(),
    );
    out
}

/// One page whose resources hold an array nested `depth` deep.
fn nested_pdf(depth: usize) -> Vec<u8> {
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    pdf_of(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Properties << /Deep {nested} >> >> >>"
        ),
        "<< /Length 0 >>\nstream\n\nendstream".into(),
    ])
}

/// `pages` pages sharing one content stream.
fn long_pdf(pages: usize) -> Vec<u8> {
    let first = 4;
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", first + i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")),
        "<< /Length 0 >>\nstream\n\nendstream".to_string(),
    ];
    objects.extend(
        (0..pages)
            .map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>".to_string()),
    );
    pdf_of(&objects)
}

/// A one-page PDF that reads.
fn good_pdf() -> Vec<u8> {
    long_pdf(1)
}

/// A .docx whose one picture is linked from `url`, not embedded.
fn docx_linking(url: &str) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_string()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_string()),
        ("word/_rels/document.xml.rels", format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="{url}" TargetMode="External"/></Relationships>"#)),
        ("word/document.xml", r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body><w:p><w:r><w:t>关于印发通知的通知</w:t></w:r></w:p><w:p><w:r><w:drawing><wp:inline><wp:extent cx="952500" cy="952500"/><wp:docPr id="1" name="Picture 1"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="x.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:link="rId5"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p></w:body></w:document>"#.to_string()),
    ];
    for (name, text) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The server's own resident memory now, bytes.
fn own_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_cost_themselves_alone_in_previews_and_print() {
    let dir = temp();
    let memory_mib = 1024;
    let server = yingjian_tests::Aggregator::start_with(&dir.path().join("data"), |c| {
        c.worker.memory_mib = memory_mib;
        c.print.office_timeout_secs = 60;
    })
    .await;
    let police = server.token(Some("police")).await;
    let office = server.token(None).await;
    let client = reqwest::Client::new();
    // Whatever LibreOffice would fetch goes here: nothing may arrive.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_url = format!("http://{}/picture.png", trap.local_addr().unwrap());
    let item = "08.03 昆仑2021专项行动";
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("01 正常文件.pdf", good_pdf()),
        ("02 嵌套.pdf", nested_pdf(100_000)),
        ("03 大图16000.png", png(16_000, false)),
        ("04 大图20000.png", png(20_000, false)),
        ("05 黑白32000.tif", bilevel_tiff(32_000)),
        ("06 坏像素.png", png(2_000, true)),
        ("07 外链图片.docx", docx_linking(&trap_url)),
        ("08 十万页.pdf", long_pdf(100_000)),
        ("09 正常文件二.pdf", good_pdf()),
    ];
    let before = own_rss();
    for (name, bytes) in &files {
        yingjian_tests::deliver(&client, &server.url(), &police, &format!("{item}/{name}"), bytes)
            .await
            .unwrap();
    }

    // Previews: refused with a reason or shrunk, never the server's memory.
    for (name, bytes) in &files[2..6] {
        let sha = yingjian_tests::sha(bytes);
        let r = client
            .get(format!("{}/files/{sha}/preview.png", server.url()))
            .bearer_auth(&police)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        if *name == "05 黑白32000.tif" {
            // Shrunk while it was expanded.
            assert_eq!(status, 200, "{name}");
            let shown = image::load_from_memory(&body).unwrap();
            assert!(shown.width() <= 1600 && shown.height() <= 1600);
        } else {
            assert_eq!(status, 415, "{name}: {}", String::from_utf8_lossy(&body));
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("无法预览"), "{name}: {text}");
        }
    }
    assert!(server.get("/api/v1/status", &office).await.is_object());

    // The print build: every volume written, each hostile file a placeholder naming it.
    let out = dir.path().join("print");
    let report = yingjian_aggregator::print::build(&server.state, &out, yingjian_aggregator::print::Of::Copy)
        .await
        .unwrap();
    assert!(!report.written.is_empty());
    let problems = report.problems.join("\n");
    for name in ["02 嵌套.pdf", "03 大图16000.png", "04 大图20000.png", "06 坏像素.png", "08 十万页.pdf"]
    {
        assert!(problems.contains(name), "{name} is not named among the problems:\n{problems}");
    }
    for name in ["01 正常文件.pdf", "09 正常文件二.pdf", "05 黑白32000.tif"] {
        assert!(!problems.contains(name), "{name} should print:\n{problems}");
    }
    let line = |name: &str| problems.lines().find(|l| l.contains(name)).unwrap_or_default().to_string();
    assert!(line("十万页.pdf").contains("页数过多"), "{problems}");
    assert!(line("嵌套.pdf").contains("无法读取（文件结构嵌套过深"), "{problems}");
    assert!(line("大图20000.png").contains("20000×20000"), "{problems}");
    // What cost the worker its life is in the audit log, by file.
    let audit = server.get("/api/v1/audit", &office).await;
    let unreadable: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "unreadable")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert!(unreadable[0].contains("嵌套.pdf"), "{unreadable:?}");
    // Every volume written: a cover, a 目录, and at least a page for each content (the two
    // good PDFs are one content, printed once).
    assert!(report.written.iter().all(|(volume, _)| volume.exists()));
    let pages: usize = report.written.iter().map(|(_, pages)| pages).sum();
    assert!(pages >= 2 * report.written.len() + files.len() - 1, "{:?}", report.written);
    assert!(trap.accept().is_err(), "LibreOffice reached for the linked picture");
    // The worker never held more than its limit; the server barely grew.
    assert!(server.state.worker.peak_rss() > 0);
    assert!(server.state.worker.peak_rss() <= 2 * (memory_mib << 20), "{}", server.state.worker.peak_rss());
    let grown = own_rss().saturating_sub(before);
    assert!(grown < 300 << 20, "the server's own memory grew by {} MiB", grown >> 20);
    // And it keeps answering.
    assert!(server.get("/api/v1/status", &office).await.is_object());
    server.stop().await;
}

// ── what a client may hold open ───────────────────────────────────────────────────────────

async fn create_upload(server: &yingjian_tests::Aggregator, token: &str, length: u64) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/uploads", server.url()))
        .bearer_auth(token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .send()
        .await
        .unwrap()
}

fn parts(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join("tmp/uploads")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_holds_few_uploads_open_and_the_office_sees_and_removes_them() {
    let dir = temp();
    let data = dir.path().join("data");
    let server = yingjian_tests::Aggregator::start_with(&data, |c| {
        c.uploads.max_open = 3;
        c.uploads.max_promised_bytes = 1000;
    })
    .await;
    let police = server.token(Some("police")).await;
    let other = server.token(Some("market")).await;
    let office = server.token(None).await;
    for _ in 0..3 {
        assert_eq!(create_upload(&server, &police, 100).await.status().as_u16(), 201);
    }
    let refused = create_upload(&server, &police, 100).await;
    assert_eq!(refused.status().as_u16(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many");
    assert!(body["message"].as_str().unwrap().contains("断点续传"), "{body}");
    assert_eq!(parts(&data), 6, "a refused creation leaves nothing");
    // Bytes promised count too, per department.
    assert_eq!(create_upload(&server, &other, 900).await.status().as_u16(), 201);
    let refused = create_upload(&server, &other, 200).await;
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(parts(&data), 8);

    // The office sees them, by department and PC, and removes one (audited).
    let page = server.page(&office, "/uploads").await;
    assert!(page.contains("未完成的上传") && page.contains("pc-1"), "{page}");
    let open = server.state.uploads.list().unwrap();
    assert_eq!(open.len(), 4);
    let (id, _) = open.iter().find(|(_, u)| u.info.department == "police").unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = client
        .post(format!("{}/login", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={office}"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let removed = client
        .post(format!("{}/uploads/remove", server.url()))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id={id}"))
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_redirection(), "{}", removed.status());
    assert_eq!(parts(&data), 6);
    let audit = server.get("/api/v1/audit", &office).await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "upload_removed" && e["department"] == "police")
    );
    // The place it held is free again.
    assert_eq!(create_upload(&server, &police, 100).await.status().as_u16(), 201);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_holds_few_event_streams_open() {
    let dir = temp();
    let server =
        yingjian_tests::Aggregator::start_with(&dir.path().join("data"), |c| c.max_event_streams = 2).await;
    let police = server.token(Some("police")).await;
    let open = || async {
        reqwest::Client::new()
            .get(format!("{}/api/v1/events", server.url()))
            .bearer_auth(&police)
            .send()
            .await
            .unwrap()
    };
    let first = open().await;
    let second = open().await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = open().await;
    assert_eq!(third.status().as_u16(), 429);
    let body: serde_json::Value = third.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("实时更新"), "{body}");
    // Another token is not held back by this one's.
    let other = server.token(Some("market")).await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/events", server.url()))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A stream closed gives its place back.
    drop(first);
    yingjian_tests::eventually("a place for another stream", || async {
        let r = open().await;
        (r.status().as_u16() == 200).then_some(())
    })
    .await;
    drop(second);
    server.stop().await;
}
