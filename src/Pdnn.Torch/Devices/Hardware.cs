namespace Pdnn.Torch.Devices;

/// <summary>A one-line description of the machine a figure was measured on, for model cards and benchmark results.</summary>
public static class Hardware
{
    public static string Describe(DeviceChoice device)
    {
        var cpu = CpuModel();
        return device.IsCuda
            ? $"{device.Device} (TorchSharp CUDA); host CPU {cpu}"
            : $"CPU {cpu}, {Environment.ProcessorCount} logical cores";
    }

    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"));
            if (line != null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
