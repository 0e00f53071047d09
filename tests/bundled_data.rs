//! The bundled data sets travel with a built program: digits, iris and diabetes are embedded,
//! and files such as the word list are found next to the program or through
//! `SHAPED_DATA_DIR`, with an error that says where it looked.

use shaped::data::{self, Dataset};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child processes that run from a copied test binary.
const CHILD_MODE: &str = "SHAPED_TEST_MOVED_BINARY";

#[test]
fn embedded_data_sets_equal_the_files() {
    let dir = data::data_dir();
    let (a, b) = (
        data::iris().unwrap(),
        data::iris_from(dir.join("iris.csv")).unwrap(),
    );
    assert_eq!(a.features().to_vec(), b.features().to_vec());
    assert_eq!(a.targets().as_slice(), b.targets().as_slice());
    assert_eq!(a.targets().names(), b.targets().names());
    let (a, b) = (
        data::digits().unwrap(),
        data::digits_from(dir.join("digits.csv.gz")).unwrap(),
    );
    assert_eq!(a.features().to_vec(), b.features().to_vec());
    assert_eq!(a.targets().as_slice(), b.targets().as_slice());
    let (a, b) = (
        data::diabetes().unwrap(),
        data::diabetes_from(
            dir.join("diabetes_data_raw.csv.gz"),
            dir.join("diabetes_target.csv.gz"),
        )
        .unwrap(),
    );
    assert_eq!(a.features().to_vec(), b.features().to_vec());
    assert_eq!(a.targets().tensor().to_vec(), b.targets().tensor().to_vec());
}

#[test]
fn a_missing_data_file_error_says_where_it_looked() {
    let err = data::data_file("no_such_bundled_file.txt")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("no_such_bundled_file.txt: "), "{err}");
    assert!(err.contains("looked in"), "{err}");
    assert!(
        err.contains(&data::data_dir().display().to_string()),
        "{err}"
    );
    let exe_dir = std::env::current_exe().unwrap();
    let exe_dir = exe_dir.parent().unwrap().display().to_string();
    assert!(err.contains(&exe_dir), "{err}");
    assert!(err.contains(data::DATA_DIR_ENV), "{err}");
}

fn write_words(dir: &Path, words: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("words.txt");
    std::fs::write(&path, words).unwrap();
    path
}

/// Copies this test binary into a fresh folder with its own `data/words.txt`, runs this test
/// there (once plain, once with `SHAPED_DATA_DIR` pointing elsewhere), and checks what the
/// moved program read.
#[test]
fn a_moved_binary_finds_its_data() {
    if let Some(mode) = std::env::var_os(CHILD_MODE) {
        let exe = std::env::current_exe().unwrap();
        let exe_dir = exe.parent().unwrap();
        let found = data::data_file("words.txt").unwrap();
        if mode == "next_to_binary" {
            assert_eq!(found, exe_dir.join("data").join("words.txt"));
            assert_eq!(data::words().unwrap(), ["moved", "binary"]);
        } else {
            let env_dir = PathBuf::from(std::env::var_os(data::DATA_DIR_ENV).unwrap());
            assert_eq!(found, env_dir.join("words.txt"));
            assert_eq!(data::words().unwrap(), ["from", "env"]);
        }
        // The embedded data sets need no file at all.
        assert_eq!(data::digits().unwrap().len(), 1797);
        assert_eq!(data::iris().unwrap().len(), 150);
        return;
    }
    let root = std::env::temp_dir().join(format!("shaped_moved_binary_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let bin_dir = root.join("bin");
    write_words(&bin_dir.join("data"), "moved\nbinary\n");
    let env_dir = root.join("elsewhere");
    write_words(&env_dir, "from\nenv\n");
    let exe = std::env::current_exe().unwrap();
    let moved = bin_dir.join(exe.file_name().unwrap());
    std::fs::copy(&exe, &moved).unwrap();
    let run = |mode: &str, data_dir: Option<&Path>| {
        let mut cmd = Command::new(&moved);
        cmd.args([
            "--exact",
            "a_moved_binary_finds_its_data",
            "--test-threads=1",
        ])
        .env(CHILD_MODE, mode)
        .env_remove(data::DATA_DIR_ENV);
        if let Some(d) = data_dir {
            cmd.env(data::DATA_DIR_ENV, d);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The child ran the test rather than filtering it out.
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    };
    run("next_to_binary", None);
    run("env", Some(&env_dir));
    std::fs::remove_dir_all(&root).unwrap();
}
