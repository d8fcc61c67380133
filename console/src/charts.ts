/** ECharts, imported piece by piece (only the charts and components the console uses), SVG renderer. */
import { BarChart, LineChart, SankeyChart } from 'echarts/charts';
import { AriaComponent, DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([LineChart, BarChart, SankeyChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, AriaComponent, SVGRenderer]);

export type ChartOption = Parameters<echarts.ECharts['setOption']>[0];
export { echarts };
