<?xml version="1.0" encoding="UTF-8"?>
<!-- The XPath JSON vocabulary (what the rules produced) -> HR-ish XML. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:j="http://www.w3.org/2005/xpath-functions"
    exclude-result-prefixes="j">
  <xsl:output method="xml" indent="no" omit-xml-declaration="yes"/>
  <xsl:template match="/j:map">
    <Person id="{j:string[@key='id']}">
      <Name>
        <Family><xsl:value-of select="j:string[@key='family']"/></Family>
        <xsl:for-each select="j:array[@key='given']/j:string">
          <Given><xsl:value-of select="."/></Given>
        </xsl:for-each>
      </Name>
      <xsl:if test="j:string[@key='born']">
        <Born><xsl:value-of select="j:string[@key='born']"/></Born>
      </xsl:if>
    </Person>
  </xsl:template>
</xsl:stylesheet>
