using OxyPlot;

namespace Pdnn.Figures;

/// <summary>
/// Colour, marker and dash of the i-th series of a chart: ten colours, and past ten the marker and the dash change too,
/// so that no two of up to forty series look alike (the robustness summary draws eighteen).
/// </summary>
public static class SeriesStyle
{
    static readonly OxyColor[] Colours =
    [
        OxyColor.FromRgb(31, 119, 180), OxyColor.FromRgb(255, 127, 14), OxyColor.FromRgb(44, 160, 44), OxyColor.FromRgb(214, 39, 40),
        OxyColor.FromRgb(148, 103, 189), OxyColor.FromRgb(140, 86, 75), OxyColor.FromRgb(227, 119, 194), OxyColor.FromRgb(127, 127, 127),
        OxyColor.FromRgb(188, 189, 34), OxyColor.FromRgb(23, 190, 207),
    ];
    static readonly MarkerType[] Markers = [MarkerType.Circle, MarkerType.Square, MarkerType.Triangle, MarkerType.Diamond];
    static readonly LineStyle[] Dashes = [LineStyle.Solid, LineStyle.Dash, LineStyle.Dot, LineStyle.DashDot];

    public static OxyColor Colour(int index) => Colours[index % Colours.Length];
    public static MarkerType Marker(int index) => Markers[index / Colours.Length % Markers.Length];
    public static LineStyle Dash(int index) => Dashes[index / Colours.Length % Dashes.Length];

    /// <summary>White background, a light grid: what both charts share.</summary>
    internal static readonly OxyColor Grid = OxyColor.FromRgb(225, 225, 225);

    /// <summary>Writes <paramref name="model"/> as a PNG, creating the folder. Text shaping (HarfBuzz) is off: axis labels and
    /// legends need none, and it would need one native library more.</summary>
    internal static void Save(PlotModel model, string path, int width, int height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        new OxyPlot.SkiaSharp.PngExporter { Width = width, Height = height, UseTextShaping = false }.Export(model, file);
    }
}
