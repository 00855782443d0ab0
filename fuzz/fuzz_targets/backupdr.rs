#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| backup_exporter::fuzzing::backupdr(data));
