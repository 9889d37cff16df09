//! `BENCH_ONLY=hostile`: what the hostile files of the second red team (issue 30) cost the
//! server beside a clean set of the same kinds — its peak RSS while it previews every file (and
//! reads them in the background), and the `print` process's peak RSS and time for the 纸质版.
//! Everything they parse runs in the worker, whose memory `[worker] memory_mib` bounds.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use reqwest::Client;
use yingjian_tests::hostile::{bilevel_tiff, docx_linking, long_pdf, nested_pdf, png};

use super::{Table, peak_rss_mib, picture, start_server, text_pdf, timed_aggregator};

/// Each set's files, as a department sends them.
type Set = Vec<(&'static str, Vec<u8>)>;

fn clean() -> Result<Set> {
    Ok(vec![
        ("通知.pdf", text_pdf(1, 3)),
        ("执法案卷.pdf", text_pdf(2, 40)),
        ("现场照片.png", picture(1)?),
        ("黑白扫描件.tif", bilevel_tiff(2_480)),
        ("截图.png", png(2_000, false)),
    ])
}

fn hostile() -> Set {
    vec![
        ("嵌套.pdf", nested_pdf(100_000)),
        ("十万页.pdf", long_pdf(100_000)),
        ("大图16000.png", png(16_000, false)),
        ("大图20000.png", png(20_000, false)),
        ("黑白32000.tif", bilevel_tiff(32_000)),
        ("坏像素.png", png(2_000, true)),
        // Nothing listens there: the worker has no network anyway.
        ("外链图片.docx", docx_linking("http://127.0.0.1:9/picture.png")),
    ]
}

/// (server peak RSS after previewing every file, print peak RSS, print seconds, what print said).
async fn cost(bin: &Path, scratch: &Path, name: &str, files: &Set) -> Result<(f64, f64, f64, String)> {
    let data = scratch.join(name);
    let (server, url, police, _office) = start_server(bin, &data)?;
    let client = Client::builder().timeout(Duration::from_mins(5)).build()?;
    for (file, bytes) in files {
        yingjian_tests::deliver(&client, &url, &police, &format!("08.03 昆仑2021专项行动/{file}"), bytes)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    // Every file previewed, two at a time as the server allows: what a picture cannot be shown
    // as is refused (415), which is the answer too.
    let previews = files.iter().map(|(_, bytes)| {
        let (client, url, police) = (client.clone(), url.clone(), police.clone());
        let sha = yingjian_tests::sha(bytes);
        async move { client.get(format!("{url}/files/{sha}/preview.png")).bearer_auth(police).send().await }
    });
    for answer in futures_util::future::join_all(previews).await {
        answer?.bytes().await?;
    }
    let server_rss = peak_rss_mib(server.0.id());
    drop(server);
    let out = scratch.join(format!("{name}-print"));
    let (took, print_rss, said) = timed_aggregator(bin, "print", &data, &out)?;
    Ok((server_rss, print_rss, took.as_secs_f64(), said))
}

pub async fn hostile_rows(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let (clean_server, clean_print, clean_secs, _) = cost(bin, scratch, "clean", &clean()?).await?;
    let (server, print, secs, said) = cost(bin, scratch, "hostile", &hostile()).await?;
    // `print` says each volume written and its pages.
    let pages: usize = said
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.strip_suffix(" pages")?.parse::<usize>().ok())
        .sum();
    t.row(
        "server peak RSS, previewing the hostile set (MiB)",
        format!("{server:.1}"),
        format!("{clean_server:.1}"),
        format!(
            "{:.2}× the clean set's (5 files); 7 hostile files, each previewed once, read meanwhile",
            server / clean_server
        ),
    );
    t.row(
        "print peak RSS, the hostile set (MiB)",
        format!("{print:.1}"),
        format!("{clean_print:.1}"),
        format!(
            "{:.2}× the clean set's; {secs:.1} s against {clean_secs:.1} s; {pages} pages, each hostile file a page saying why",
            print / clean_print
        ),
    );
    Ok(())
}
