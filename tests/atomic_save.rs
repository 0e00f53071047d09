//! Issue 14 item 5: temporary files left by saves that died are removed by the next save of
//! the same file (never another live process's), and write errors name the target file.

use rand::SeedableRng;
use shaped::nn::Linear;
use shaped::serialize::{Checkpoint, save_safetensors, write_atomic};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shaped_atomic_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A process id that is not running: the largest id Linux hands out is below 2^22.
const DEAD_PID: u32 = 4_000_000_000;

#[test]
fn stale_temps_of_the_same_target_are_removed_by_the_next_save() {
    let dir = temp_dir("stale");
    let model = Linear::<3, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    // Left by saves killed mid-write (a dead process), next to unrelated files.
    let stale = [
        format!(".model.ckpt.{DEAD_PID}.0.tmp"),
        format!(".model.ckpt.{DEAD_PID}.17.tmp"),
    ];
    let keep = [
        // Another target's temp, a live process's temp (this test's parent: alive), and
        // files that only look similar.
        format!(".other.ckpt.{DEAD_PID}.0.tmp"),
        format!(".model.ckpt.{}.0.tmp", std::os::unix::process::parent_id()),
        ".model.ckpt.notes.tmp".to_string(),
        "model.ckpt.bak".to_string(),
    ];
    for n in stale.iter().chain(&keep) {
        std::fs::write(dir.join(n), vec![0u8; 1000]).unwrap();
    }
    Checkpoint::new(&model)
        .save(dir.join("model.ckpt"))
        .unwrap();
    let mut want: Vec<String> = keep.to_vec();
    want.push("model.ckpt".into());
    want.sort();
    assert_eq!(names(&dir), want);
    // Safetensors saves clean up after themselves the same way.
    std::fs::write(dir.join(format!(".w.safetensors.{DEAD_PID}.3.tmp")), b"x").unwrap();
    save_safetensors(&model, dir.join("w.safetensors")).unwrap();
    assert!(!names(&dir).iter().any(|n| n.starts_with(".w.safetensors")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_errors_name_the_target_not_the_temp() {
    let dir = temp_dir("errors");
    let target = dir.join("out.bin");
    // A full disk (ENOSPC) reported by the writer.
    let err = write_atomic(&target, |w| {
        w.write_all(b"partial")?;
        Err(std::io::Error::from_raw_os_error(28).into())
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains(&target.display().to_string()), "{err}");
    assert!(!err.contains(".tmp"), "{err}");
    // A file-size limit (EFBIG).
    let err = write_atomic(&target, |_| {
        Err(std::io::Error::from_raw_os_error(27).into())
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("out.bin") && !err.contains(".tmp"), "{err}");
    // A folder that does not exist: the temp cannot even be created.
    let missing = dir.join("no/such/dir/out.bin");
    let err = write_atomic(&missing, |w| Ok(w.write_all(b"x")?))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&missing.display().to_string()) && !err.contains(".tmp"),
        "{err}"
    );
    // Nothing is left behind.
    assert!(names(&dir).is_empty(), "{:?}", names(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}
