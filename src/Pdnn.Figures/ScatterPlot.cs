using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace Pdnn.Figures;

/// <summary>
/// A scatter chart as PNG: one point per item with its interval on each axis (e.g. clean accuracy against worst case,
/// one point per defence, Wilson 95% intervals), named in the legend rather than beside the point, so that points
/// close together stay readable.
/// </summary>
public static class ScatterPlot
{
    /// <summary>An item at (<paramref name="X"/>, <paramref name="Y"/>), its intervals [XLow, XHigh] and [YLow, YHigh].</summary>
    public sealed record Item(string Name, double X, double XLow, double XHigh, double Y, double YLow, double YHigh);

    /// <summary>The axes run over the items' intervals, widened to multiples of 10 within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static void SavePng(string path, string title, string xLabel, string yLabel, IReadOnlyList<Item> items, double min = 0, double max = 100)
    {
        if (items.Count == 0) throw new ArgumentException("a scatter chart needs at least one item", nameof(items));
        double Low(double v) => Math.Max(min, Math.Floor(v / 10) * 10);
        double High(double v) => Math.Min(max, Math.Ceiling(v / 10) * 10);
        var model = new PlotModel { Title = title, Background = OxyColors.White, TitleFontSize = 15 };
        model.Axes.Add(Axis(AxisPosition.Bottom, xLabel, Low(items.Min(i => i.XLow)), High(items.Max(i => i.XHigh))));
        model.Axes.Add(Axis(AxisPosition.Left, yLabel, Low(items.Min(i => i.YLow)), High(items.Max(i => i.YHigh))));
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var colour = SeriesStyle.Colour(i);
            foreach (var (from, to) in new[] { (new DataPoint(item.XLow, item.Y), new DataPoint(item.XHigh, item.Y)),
                                               (new DataPoint(item.X, item.YLow), new DataPoint(item.X, item.YHigh)) })
            {
                var bar = new LineSeries { Color = OxyColor.FromAColor(140, colour), StrokeThickness = 1.2, RenderInLegend = false };
                bar.Points.AddRange([from, to]);
                model.Series.Add(bar);
            }
            var point = new ScatterSeries { Title = item.Name, MarkerType = SeriesStyle.Marker(i), MarkerSize = 5, MarkerFill = colour };
            point.Points.Add(new ScatterPoint(item.X, item.Y));
            model.Series.Add(point);
        }
        model.Legends.Add(new Legend { LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.RightTop });
        SeriesStyle.Save(model, path, 900, 560);
    }

    // A margin of 3% beyond the range, so that a point on its edge (a worst case of 0%) is drawn whole.
    static LinearAxis Axis(AxisPosition position, string title, double minimum, double maximum) => new()
    {
        Position = position, Title = title, MajorStep = 10,
        Minimum = minimum - 0.03 * (maximum - minimum), Maximum = maximum + 0.03 * (maximum - minimum),
        MajorGridlineStyle = LineStyle.Solid, MajorGridlineColor = SeriesStyle.Grid,
    };
}
