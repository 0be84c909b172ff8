using System.Globalization;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using OxyPlot.SkiaSharp;

namespace Pdnn.Figures;

/// <summary>A line chart as PNG (e.g. accuracy vs ε, one line per defence), drawn by OxyPlot.</summary>
public static class LinePlot
{
    // Ten colours; past ten series the marker and the dash change too, so that no two series look alike
    // (the robustness summary draws eighteen).
    static readonly OxyColor[] Colours =
    [
        OxyColor.FromRgb(31, 119, 180), OxyColor.FromRgb(255, 127, 14), OxyColor.FromRgb(44, 160, 44), OxyColor.FromRgb(214, 39, 40),
        OxyColor.FromRgb(148, 103, 189), OxyColor.FromRgb(140, 86, 75), OxyColor.FromRgb(227, 119, 194), OxyColor.FromRgb(127, 127, 127),
        OxyColor.FromRgb(188, 189, 34), OxyColor.FromRgb(23, 190, 207),
    ];
    static readonly MarkerType[] Markers = [MarkerType.Circle, MarkerType.Square, MarkerType.Triangle, MarkerType.Diamond];
    static readonly LineStyle[] Dashes = [LineStyle.Solid, LineStyle.Dash, LineStyle.Dot, LineStyle.DashDot];

    /// <summary>The colour of series <paramref name="index"/> (for tests and for anyone matching a legend).</summary>
    public static OxyColor ColourOf(int index) => Colours[index % Colours.Length];

    /// <summary>Each series: a name and (x, y) points; y is drawn between <paramref name="yMin"/> and <paramref name="yMax"/>.
    /// <paramref name="xTicks"/> (default: the first series' x values) are labelled by <paramref name="xTickLabel"/>.</summary>
    public static void SavePng(string path, string title, string xLabel, string yLabel,
                               IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series,
                               double yMin = 0, double yMax = 100, IReadOnlyList<double>? xTicks = null, Func<double, string>? xTickLabel = null)
    {
        if (series.Count == 0 || series.All(s => s.Points.Count == 0))
            throw new ArgumentException("a line chart needs at least one point", nameof(series));
        var model = new PlotModel { Title = title, Background = OxyColors.White, TitleFontSize = 15 };
        var ticks = xTicks ?? series[0].Points.Select(p => p.X).ToList();
        model.Axes.Add(new FixedTicksAxis(ticks)
        {
            Position = AxisPosition.Bottom, Title = xLabel,
            LabelFormatter = xTickLabel ?? (x => x.ToString("0.###", CultureInfo.InvariantCulture)),
            MajorGridlineStyle = LineStyle.Solid, MajorGridlineColor = OxyColor.FromRgb(225, 225, 225),
            MinimumPadding = 0.03, MaximumPadding = 0.03,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left, Title = yLabel, Minimum = yMin, Maximum = yMax,
            MajorGridlineStyle = LineStyle.Solid, MajorGridlineColor = OxyColor.FromRgb(225, 225, 225),
        });
        for (int s = 0; s < series.Count; s++)
        {
            var line = new LineSeries
            {
                Title = series[s].Name, Color = ColourOf(s), StrokeThickness = 2,
                LineStyle = Dashes[s / Colours.Length % Dashes.Length],
                MarkerType = Markers[s / Colours.Length % Markers.Length], MarkerSize = 4, MarkerFill = ColourOf(s),
            };
            line.Points.AddRange(series[s].Points.OrderBy(p => p.X).Select(p => new DataPoint(p.X, p.Y)));
            model.Series.Add(line);
        }
        model.Legends.Add(new Legend { LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.RightTop, LegendSymbolLength = 28 });

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        // Text shaping (HarfBuzz) is off: axis labels and legends need none, and it would need a native library more.
        new PngExporter { Width = 900, Height = 540, UseTextShaping = false }.Export(model, file);
    }

    /// <summary>A linear axis with ticks exactly at the given values (e.g. ε = 0, 2, 4, 8, 16, 32 drawn evenly spaced).</summary>
    sealed class FixedTicksAxis(IReadOnlyList<double> ticks) : LinearAxis
    {
        public override void GetTickValues(out IList<double> majorLabelValues, out IList<double> majorTickValues, out IList<double> minorTickValues)
        {
            majorLabelValues = majorTickValues = ticks.Where(t => t >= ActualMinimum && t <= ActualMaximum).ToList();
            minorTickValues = [];
        }
    }
}
