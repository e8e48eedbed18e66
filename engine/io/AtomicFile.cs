using System.Runtime.InteropServices;

namespace ScratchNet.io;

/// <summary>What happened to a file during an atomic write, in order: the temporary file is created, written
/// (one event per block), flushed to disk, renamed over the target, and the folder's entry is flushed.</summary>
public enum FileEventKind
{
    /// <summary>The temporary file was created (empty).</summary>
    Create,
    /// <summary>A block was written to the temporary file (<see cref="FileEvent.Bytes"/> = its size so far).</summary>
    Write,
    /// <summary>The temporary file's data reached the disk (fsync).</summary>
    Fsync,
    /// <summary>The temporary file replaced the target (rename, atomic on one file system).</summary>
    Rename,
    /// <summary>The folder's entries reached the disk (fsync of the directory), so the rename survives a power loss.</summary>
    DirectorySync,
}

/// <summary>One step of an atomic write, reported after it completed: the state on disk at that instant is what
/// a <c>kill -9</c> right then would leave behind. Tests use it to inject a crash at every step.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Path">The file it happened to: the temporary file, or the target for Rename and DirectorySync.</param>
/// <param name="Bytes">Bytes written to the temporary file so far.</param>
public readonly record struct FileEvent(FileEventKind Kind, string Path, long Bytes);

/// <summary>
/// Writes a file so that a crash at any instant leaves either the old content or the new one, never half a file:
/// <code>
///   1. write   dir/.NAME.tmp-GUID      (the target is untouched)
///   2. fsync   the temporary file      (its data is on disk before its name can be)
///   3. rename  .NAME.tmp-GUID → NAME   (atomic: readers see the old file or the new one)
///   4. fsync   dir                     (the new name survives a power loss)
/// </code>
/// A crash before step 3 leaves a stale temporary file; <see cref="RemoveStale"/> deletes those when the next
/// writer starts (under the run folder's lock, so never one that is still being written).
/// </summary>
public static class AtomicFile
{
    /// <summary>What every temporary file's name contains: ".NAME.tmp-GUID".</summary>
    public const string TempMarker = ".tmp-";

    /// <summary>A fresh temporary path next to <paramref name="path"/>.</summary>
    public static string TempPathFor(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full)!, $".{System.IO.Path.GetFileName(full)}{TempMarker}{Guid.NewGuid():N}");
    }

    /// <summary>Writes <paramref name="path"/> atomically: <paramref name="write"/> fills a temporary file, which then replaces the target.
    /// <paramref name="onEvent"/>, when given, hears every step after it completed.</summary>
    public static void Write(string path, Action<Stream> write, Action<FileEvent>? onEvent = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("AtomicFile.Write: the path is empty");
        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string temp = TempPathFor(full);
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 20))
            {
                onEvent?.Invoke(new FileEvent(FileEventKind.Create, temp, 0));
                if (onEvent is null) write(f);
                else
                {
                    using var observed = new ObservedStream(f, temp, onEvent);
                    write(observed);
                }
                f.Flush(flushToDisk: true);
                onEvent?.Invoke(new FileEvent(FileEventKind.Fsync, temp, f.Length));
            }
            File.Move(temp, full, overwrite: true);
            onEvent?.Invoke(new FileEvent(FileEventKind.Rename, full, new FileInfo(full).Length));
            SyncDirectory(dir);
            onEvent?.Invoke(new FileEvent(FileEventKind.DirectorySync, full, new FileInfo(full).Length));
        }
        finally
        {
            // Reached with the temporary file still there only when writing failed (an exception, not a kill).
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Writes UTF-8 text atomically.</summary>
    public static void WriteAllText(string path, string text, Action<FileEvent>? onEvent = null)
        => Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)), onEvent);

    /// <summary>Deletes the temporary files (".NAME.tmp-GUID") that a killed writer left in <paramref name="dir"/>;
    /// returns their names. Call it only while holding the folder's lock.</summary>
    public static IReadOnlyList<string> RemoveStale(string dir)
    {
        var removed = new List<string>();
        if (!Directory.Exists(dir)) return removed;
        foreach (var f in Directory.EnumerateFiles(dir, "." + "*" + TempMarker + "*"))
        {
            try { File.Delete(f); removed.Add(System.IO.Path.GetFileName(f)); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary>fsync(2) on a directory, so a rename inside it is durable. A no-op where the OS has no such call (Windows).</summary>
    public static void SyncDirectory(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Posix.open(dir, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { Posix.fsync(fd); }
        finally { Posix.close(fd); }
    }

    private static class Posix
    {
        [DllImport("libc", SetLastError = true)] public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
        [DllImport("libc", SetLastError = true)] public static extern int fsync(int fd);
        [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    }

    /// <summary>Forwards writes to the file and reports each one once it reached the OS (flushed from the
    /// stream's buffer), so a test's snapshot at that event sees exactly the bytes a kill would leave.</summary>
    private sealed class ObservedStream(FileStream inner, string path, Action<FileEvent> onEvent) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            inner.Flush();
            onEvent(new FileEvent(FileEventKind.Write, path, inner.Length));
        }
    }
}

/// <summary>
/// An exclusive lock on a run folder (the file .lock inside it, locked with flock(2) on Linux and macOS, a share-none
/// handle on Windows), held while a training run writes there. A second `scratchnet train` on the same folder fails at
/// once with a clear message instead of two processes interleaving checkpoints; stale temporary files can then be
/// removed safely. The lock dies with the process, so a killed run never leaves it held.
/// </summary>
public sealed class FolderLock : IDisposable
{
    private readonly FileStream _handle;

    private FolderLock(FileStream handle, string dir) { _handle = handle; Folder = dir; }

    /// <summary>The locked folder.</summary>
    public string Folder { get; }

    /// <summary>The name of the lock file inside the folder.</summary>
    public const string FileName = ".lock";

    /// <summary>Takes the lock on <paramref name="dir"/> (created if missing), or throws IOException naming the folder
    /// when another process holds it.</summary>
    public static FolderLock Acquire(string dir, string command)
    {
        Directory.CreateDirectory(dir);
        string path = System.IO.Path.Combine(dir, FileName);
        try
        {
            return new FolderLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None), dir);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"{command}: the run folder {dir} is in use by another run (it holds {path}); wait for it to finish or pass another --out", e);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _handle.Dispose();
}
