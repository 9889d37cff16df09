//! `BENCH_ONLY=paper` (also at the end of the whole run when LibreOffice, poppler and qpdf are
//! there): the 纸质版 and the bundle of real 300-dpi scans — documents of the project's corpus
//! written by LibreOffice, rasterised at 300 dpi by poppler, degraded as a scanner does and kept as
//! JPEG pages — beside `qpdf --empty --pages` merging the same PDFs and `tar cf` of them, in the
//! same run. One of the files is over 64 MB (a case file of 100 pages). `BENCH_PAPER_PAGES` (default
//! 1,200) sets how many scanned pages the department sends; `BENCH_PAPER_DATA` where the server's
//! data folder is made and kept.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use image::DynamicImage;
use reqwest::Client;
use yingjian_reader::corpus;

use super::{Table, env_num, median, spread, start_server, timed_aggregator};

/// A scanned page as a scanner's PDF holds it: JPEG bytes, pixels across and down, grey or not.
type Page = (Vec<u8>, u32, u32, bool);

/// Distinct real pages: six documents of the corpus scanned at 300 dpi.
fn scanned_pages(dir: &Path) -> Result<Vec<Page>> {
    let specs: Vec<corpus::Spec> = (0..6u64).map(|k| corpus::Spec::random(7_000 + k)).collect();
    let mut pages = Vec::new();
    for (k, (pdf, _)) in corpus::text_pdfs(&specs, dir)?.into_iter().enumerate() {
        let how = corpus::Degrade::random(k as u64);
        for (i, page) in corpus::rasterise(&pdf, 300, dir)?.iter().enumerate() {
            let img = corpus::degrade(page, &how, i as u64 + 1);
            let grey = !matches!(img, DynamicImage::ImageRgb8(_));
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, how.jpeg_quality)
                .encode_image(&img)?;
            pages.push((jpeg, img.width(), img.height(), grey));
        }
    }
    Ok(pages)
}

/// The department's PDFs: a 100-page case file, then files of 2 to 40 pages up to `total` pages,
/// each a different run of the scanned pages (so each is its own content).
fn files(pages: &[Page], total: usize, dir: &Path) -> Result<Vec<(String, PathBuf, usize)>> {
    let sizes = [100, 3, 8, 20, 40, 12, 2, 5, 30, 6];
    let (mut out, mut made) = (Vec::new(), 0);
    while made < total {
        let k = out.len();
        let n = sizes[k % sizes.len()].min(total - made).max(1);
        let run: Vec<Page> = (0..n).map(|i| pages[(k * 7 + i) % pages.len()].clone()).collect();
        let name = if k == 0 { "执法案卷.pdf".to_string() } else { format!("印证材料{k:03}.pdf") };
        let path = dir.join(format!("{k:03}.pdf"));
        std::fs::write(&path, corpus::image_pdf(&run, 300)?)?;
        out.push((name, path, n));
        made += n;
    }
    Ok(out)
}

/// What the scans are made with, and the anchor.
pub fn tools() -> std::io::Result<()> {
    ["soffice", "pdftoppm", "qpdf"].into_iter().try_for_each(corpus::require)
}

pub async fn paper(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    tools()?;
    let sources = scratch.join("paper-sources");
    std::fs::create_dir_all(&sources)?;
    let pages = scanned_pages(&scratch.join("paper-corpus"))?;
    let total = usize::try_from(env_num("BENCH_PAPER_PAGES", 1200))?;
    let files = files(&pages, total, &sources)?;
    let bytes: u64 = files.iter().map(|(_, p, _)| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
    let big = std::fs::metadata(&files[0].1)?.len();
    // BENCH_PAPER_DATA keeps the server's data folder there, to print it again by hand.
    let data = std::env::var_os("BENCH_PAPER_DATA").map_or_else(|| scratch.join("paper-data"), PathBuf::from);
    let (server, url, police, _office) = start_server(bin, &data)?;
    let client = Client::builder().timeout(Duration::from_mins(10)).build()?;
    for (name, path, _) in &files {
        let path_in_item = format!("08.03 昆仑2021专项行动/文件/{name}");
        yingjian_tests::deliver(&client, &url, &police, &path_in_item, &std::fs::read(path)?)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    drop(server);

    // The print and qpdf's merge of the same PDFs, taking turns, three of each.
    let paths: Vec<&PathBuf> = files.iter().map(|(_, p, _)| p).collect();
    let merged = scratch.join("paper-qpdf.pdf");
    let out = scratch.join("paper-print");
    let (mut ours, mut anchor, mut synced) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rss, mut said) = (0.0f64, String::new());
    for _ in 0..3 {
        Command::new("sync").status()?;
        let t0 = Instant::now();
        let status = Command::new("qpdf")
            .arg("--empty")
            .arg("--pages")
            .args(&paths)
            .arg("--")
            .arg(&merged)
            .status()?;
        anchor.push(t0.elapsed());
        if !status.success() {
            bail!("qpdf failed on the scans");
        }
        // The same, made as durable as the print makes its volumes.
        Command::new("sync").arg(&merged).status()?;
        synced.push(t0.elapsed());
        std::fs::remove_file(&merged)?;
        let (took, peak, printed) = timed_aggregator(bin, "print", &data, &out)?;
        ours.push(took);
        (rss, said) = (rss.max(peak), printed);
        std::fs::remove_dir_all(&out)?;
    }
    let (ours_median, anchor, synced) = (median(&mut ours), median(&mut anchor), median(&mut synced));
    let volumes: Vec<usize> = said
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.strip_suffix(" pages")?.parse::<usize>().ok())
        .collect();
    let per_second = |d: Duration| total as f64 / d.as_secs_f64();
    t.row(
        &format!("纸质版 of {total} scanned pages (pages/s)"),
        format!("{:.0}", per_second(ours_median)),
        format!("{:.0}", per_second(anchor)),
        format!(
            "{:.2}× qpdf --empty --pages (bar: 1.0×), {:.2}× it with its output synced as the volumes are; {} files, {:.0} MB of 300-dpi JPEG pages, one of {:.0} MB; {} volumes of {} pages with covers and 目录; median of 3 ({}); peak RSS {rss:.1} MiB, print and worker (bar: 256)",
            per_second(ours_median) / per_second(anchor),
            per_second(ours_median) / per_second(synced),
            files.len(),
            bytes as f64 / 1e6,
            big as f64 / 1e6,
            volumes.len(),
            volumes.iter().sum::<usize>(),
            spread(&ours),
        ),
    );

    // The bundle of that state beside tar of the same PDFs.
    let bundles = scratch.join("paper-bundles");
    let (bundle_time, bundle_rss, _) = timed_aggregator(bin, "bundle", &data, &bundles)?;
    let tar_file = scratch.join("paper.tar");
    Command::new("sync").status()?;
    let t0 = Instant::now();
    let status = Command::new("tar").arg("cf").arg(&tar_file).arg("-C").arg(&sources).arg(".").status()?;
    let tar = t0.elapsed();
    if !status.success() {
        bail!("tar failed");
    }
    Command::new("sync").arg(&tar_file).status()?;
    let tar_synced = t0.elapsed();
    std::fs::remove_file(&tar_file)?;
    std::fs::remove_dir_all(&bundles).context("bundles")?;
    t.row(
        "bundle of those scans (s)",
        format!("{:.2}", bundle_time.as_secs_f64()),
        format!("{:.2}", tar.as_secs_f64()),
        format!(
            "{:.2}× tar cf (bar: 1.2×), {:.2}× it with its output synced as the bundle is; peak RSS {bundle_rss:.1} MiB",
            bundle_time.as_secs_f64() / tar.as_secs_f64(),
            bundle_time.as_secs_f64() / tar_synced.as_secs_f64()
        ),
    );
    Ok(())
}
